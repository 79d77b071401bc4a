import { createServiceApp, jsonBody, type ServiceDeps } from "@taskmesh/core";
import { createProcessedEvents, requireAppToken, type SidecarClient } from "@taskmesh/dapr";
import type { Express } from "express";
import { createTaskApiClient } from "./data/task-api.client.ts";
import { createScheduleNextOccurrence } from "./domain/schedule-next-occurrence.use-case.ts";
import { taskEventsRoute } from "./events/task-events.subscription.ts";

export interface RecurringTasksDeps extends ServiceDeps {
  /** This app's own daprd: state store and service invocation. */
  sidecar: SidecarClient;
  /** APP_API_TOKEN: what the sidecar sends as dapr-api-token; required on /events. */
  appApiToken: string;
  taskApiAppId: string;
  stateStore: string;
  processedEventTtlSeconds: number;
}

/**
 * A delivery is one CloudEvent of at most 1 MB (pubsub.yaml maxMessageBytes), or a bulk
 * envelope of many if the subscription turns bulkSubscribe on; a 413 would be redelivered
 * forever, so be generous.
 */
const EVENT_BODY_LIMIT = "64mb";

/** The recurring-tasks Express app, without listening: main.ts and the tests build the same app. */
export function createApp(deps: RecurringTasksDeps): Express {
  const { logger, sidecar } = deps;
  const schedule = createScheduleNextOccurrence({
    taskApi: createTaskApiClient({ sidecar, appId: deps.taskApiAppId }),
    processed: createProcessedEvents({
      sidecar,
      store: deps.stateStore,
      ttlSeconds: deps.processedEventTtlSeconds,
      logger,
    }),
  });

  return createServiceApp(
    {
      service: "recurring-tasks",
      ...deps, // logger, lifecycle, metrics
      // No readiness checks beyond draining: there is no database, and the sidecar is not this
      // app's to probe (an unreachable sidecar or task-api shows up per event, as RETRY).
      readiness: {},
      daprSubscribe: true,
    },
    (app, { registry }) => {
      // Everything below is for the sidecar only, and checked before any body is read.
      app.use("/events", requireAppToken(deps.appApiToken));
      app.post(
        "/events/task-events",
        jsonBody({ limit: EVENT_BODY_LIMIT }),
        taskEventsRoute({ schedule, logger, registry }),
      );
    },
  ).app;
}
