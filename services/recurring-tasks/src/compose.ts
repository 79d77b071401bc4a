import {
  createHttpMetrics,
  createLogger,
  type ComposedService,
  type HttpMetrics,
  type Lifecycle,
  type Logger,
} from "@taskmesh/core";
import { createSidecarClient, type SidecarClient } from "@taskmesh/dapr";
import { createApp } from "./app.ts";
import type { RecurringTasksConfig } from "./config.ts";

/** What a test may put in place of what compose builds from the config. */
export interface RecurringTasksOverrides {
  logger?: Logger;
  sidecar?: SidecarClient;
  metrics?: HttpMetrics;
  lifecycle?: Lifecycle;
}

export interface RecurringTasksService extends ComposedService {
  sidecar: SidecarClient;
  metrics: HttpMetrics;
}

/** recurring-tasks' composition root: main.ts serves what it returns, and the tests build the same. */
export function composeRecurringTasks(
  config: RecurringTasksConfig,
  overrides: RecurringTasksOverrides = {},
): RecurringTasksService {
  const logger = overrides.logger ?? createLogger({ service: "recurring-tasks", level: config.LOG_LEVEL });
  const sidecar =
    overrides.sidecar ??
    createSidecarClient({
      baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
      apiToken: config.DAPR_API_TOKEN,
    });
  const metrics = overrides.metrics ?? createHttpMetrics("recurring-tasks");
  const lifecycle = overrides.lifecycle ?? { draining: false };
  const app = createApp({
    logger,
    sidecar,
    lifecycle,
    metrics,
    appApiToken: config.APP_API_TOKEN,
    taskApiAppId: config.TASK_API_APP_ID,
    stateStore: config.STATE_STORE,
    processedEventTtlSeconds: config.PROCESSED_EVENT_TTL_SECONDS,
  });
  return {
    name: "recurring-tasks",
    app,
    logger,
    lifecycle,
    sidecar,
    metrics,
    // Nothing to close: every call goes to the sidecar over plain fetch.
    close: () => Promise.resolve(),
  };
}
