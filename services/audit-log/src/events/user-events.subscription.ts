import type { Logger } from "@taskmesh/core";
import { USER_EVENT_TYPES } from "@taskmesh/contracts";
import { subscriptionRoute, type EventOutcome } from "@taskmesh/dapr";
import type { RequestHandler } from "express";
import { Counter, type Registry } from "prom-client";
import type { PurgeUser } from "../domain/purge-user.use-case.ts";

/**
 * `POST /events/user-events` (subscription audit-log-user-events): on user.deleted the user's
 * history is deleted and a tombstone kept (see createPurgeUser).
 *
 * - purged now, or purged before (a redelivery): SUCCESS
 * - not a user event, breaks the contract, or a user id the database refuses: DROP (logged;
 *   daprd puts it on user-events.dead-letter)
 * - the database is unreachable or fails otherwise: RETRY (the handler throws)
 */
export function userEventsRoute(deps: {
  purge: PurgeUser;
  logger: Logger;
  registry: Registry;
}): RequestHandler {
  const { logger } = deps;
  const purged = new Counter({
    name: "audit_log_users_purged_total",
    help: "Deleted accounts whose history was purged (a redelivered user.deleted is not counted).",
    registers: [deps.registry],
  });
  const entries = new Counter({
    name: "audit_log_entries_purged_total",
    help: "History entries deleted with their user's account.",
    registers: [deps.registry],
  });

  return subscriptionRoute({
    accept: USER_EVENT_TYPES,
    logger,
    handle: async (events) => {
      const outcomes: EventOutcome[] = [];
      for (const event of events) {
        const outcome = await deps.purge(event);
        const context = { eventId: event.id, type: event.type, userId: event.data.userId };
        if (outcome.status === "rejected") {
          logger.error({ ...context, reason: outcome.reason }, "user.deleted cannot be applied");
          outcomes.push("DROP");
          continue;
        }
        entries.inc(outcome.deleted);
        if (outcome.status === "purged") {
          purged.inc();
          logger.info({ ...context, deleted: outcome.deleted }, "deleted account: history purged");
        } else {
          logger.debug({ ...context, deleted: outcome.deleted }, "deleted account purged before");
        }
        outcomes.push("SUCCESS");
      }
      return outcomes;
    },
  });
}
