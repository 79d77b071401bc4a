import {
  createHttpMetrics,
  healthRoutes,
  jsonBody,
  notFoundHandler,
  onlyOn,
  problemHandler,
  requestContext,
  type HttpMetrics,
  type Lifecycle,
  type Logger,
} from "@taskmesh/core";
import { createProcessedEvents, requireAppToken, type SidecarClient } from "@taskmesh/dapr";
import express, { type Express } from "express";
import { createTaskApiClient } from "./data/task-api.client.ts";
import { createScheduleNextOccurrence } from "./domain/schedule-next-occurrence.use-case.ts";
import { taskEventsRoute } from "./events/task-events.subscription.ts";

export interface RecurringTasksDeps {
  logger: Logger;
  /** This app's own daprd: state store and service invocation. */
  sidecar: SidecarClient;
  lifecycle: Lifecycle;
  /** APP_API_TOKEN: what the sidecar sends as dapr-api-token; required on /events. */
  appApiToken: string;
  taskApiAppId: string;
  stateStore: string;
  processedEventTtlSeconds: number;
  metrics?: HttpMetrics;
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
  const metrics = deps.metrics ?? createHttpMetrics("recurring-tasks");
  const schedule = createScheduleNextOccurrence({
    taskApi: createTaskApiClient({ sidecar, appId: deps.taskApiAppId }),
    processed: createProcessedEvents({
      sidecar,
      store: deps.stateStore,
      ttlSeconds: deps.processedEventTtlSeconds,
      logger,
    }),
  });

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);

  app.use(requestContext(logger));
  app.use(metrics.middleware);
  // No readiness checks beyond draining: there is no database, and the sidecar is not this
  // app's to probe (an unreachable sidecar or task-api shows up per event, as RETRY).
  app.use(healthRoutes(deps.lifecycle, {}));
  // Prometheus scrapes the operations listener; the public and sidecar ports do not serve
  // /metrics, and the operations port serves nothing but the probes and /metrics.
  app.get("/metrics", onlyOn("operations"), metrics.handler);
  app.use(onlyOn("public", "sidecar"));
  // Subscriptions are declarative (dapr-components/subscriptions.yaml); daprd still asks.
  app.get("/dapr/subscribe", onlyOn("sidecar"), (_req, res) => {
    res.json([]);
  });

  // Everything below is for the sidecar only, and checked before any body is read.
  app.use("/events", requireAppToken(deps.appApiToken));
  app.post(
    "/events/task-events",
    jsonBody({ limit: EVENT_BODY_LIMIT }),
    taskEventsRoute({ schedule, logger, registry: metrics.registry }),
  );

  app.use(notFoundHandler);
  app.use(problemHandler(logger));
  return app;
}
