import { serviceParts, type ComposedService, type ServiceOverrides } from "@taskmesh/core";
import { sidecarClientFromConfig, type SidecarClient } from "@taskmesh/dapr";
import { createApp } from "./app.ts";
import type { RecurringTasksConfig } from "./config.ts";

/** What a test may put in place of what compose builds from the config. */
export interface RecurringTasksOverrides extends ServiceOverrides {
  sidecar?: SidecarClient;
}

export interface RecurringTasksService extends ComposedService {
  sidecar: SidecarClient;
}

/** recurring-tasks' composition root: main.ts serves what it returns, and the tests build the same. */
export function composeRecurringTasks(
  config: RecurringTasksConfig,
  overrides: RecurringTasksOverrides = {},
): RecurringTasksService {
  const parts = serviceParts("recurring-tasks", config, overrides);
  const sidecar = overrides.sidecar ?? sidecarClientFromConfig(config);
  const app = createApp({
    ...parts,
    sidecar,
    appApiToken: config.APP_API_TOKEN,
    taskApiAppId: config.TASK_API_APP_ID,
    stateStore: config.STATE_STORE,
    processedEventTtlSeconds: config.PROCESSED_EVENT_TTL_SECONDS,
  });
  return {
    name: "recurring-tasks",
    app,
    ...parts,
    sidecar,
    // Nothing to close: every call goes to the sidecar over plain fetch.
    close: () => Promise.resolve(),
  };
}
