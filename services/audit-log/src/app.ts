import { createServiceApp, jsonBody, type ServiceDeps } from "@taskmesh/core";
import { requireAppToken } from "@taskmesh/dapr";
import type { Express } from "express";
import type pg from "pg";
import { createAuditEntryRepository } from "./data/audit-entry.repository.ts";
import { createReadHistory } from "./domain/read-history.use-case.ts";
import { createRecordTaskEvents } from "./domain/record-task-events.use-case.ts";
import { createPurgeUser } from "./domain/purge-user.use-case.ts";
import { taskEventsRoute } from "./events/task-events.subscription.ts";
import { userEventsRoute } from "./events/user-events.subscription.ts";
import { historyRoutes } from "./http/history.routes.ts";

export interface AuditLogDeps extends ServiceDeps {
  /** audit_entries is read and written through node-postgres (createPool of @taskmesh/db). */
  pool: pg.Pool;
  /** APP_API_TOKEN: what the sidecar sends as dapr-api-token; required on /events and /internal. */
  appApiToken: string;
}

/**
 * A bulk delivery holds up to bulkSubscribe.maxMessagesCount events of at most 1 MB each
 * (pubsub.yaml maxMessageBytes); a 413 would be redelivered forever, so be generous.
 */
const EVENT_BODY_LIMIT = "64mb";

/** The audit-log Express app, without listening: main.ts and the tests build the same app. */
export function createApp(deps: AuditLogDeps): Express {
  const { logger, pool } = deps;
  const store = createAuditEntryRepository(pool);

  return createServiceApp(
    {
      service: "audit-log",
      ...deps, // logger, lifecycle, metrics
      readiness: {
        database: async () => {
          await pool.query("SELECT 1");
        },
      },
      // One delivery per request from the sidecar: hundreds a second under load, so its
      // request line is debug (failures still log at error, 4xx at info).
      debugPaths: ["/events/"],
      daprSubscribe: true,
      databaseErrors: true,
    },
    (app, { registry }) => {
      // Everything below is for the sidecar only, and checked before any body is read.
      app.use(["/events", "/internal"], requireAppToken(deps.appApiToken));
      app.post(
        "/events/task-events",
        jsonBody({ limit: EVENT_BODY_LIMIT }),
        taskEventsRoute({ record: createRecordTaskEvents(store), logger, registry }),
      );
      app.post(
        "/events/user-events",
        jsonBody({ limit: EVENT_BODY_LIMIT }),
        userEventsRoute({ purge: createPurgeUser(store), logger, registry }),
      );
      app.use(historyRoutes(createReadHistory(store)));
    },
  ).app;
}
