import type { Logger } from "@taskmesh/core";
import { TASK_EVENT_TYPES } from "@taskmesh/contracts";
import { subscriptionRoute, type EventOutcome } from "@taskmesh/dapr";
import type { RequestHandler } from "express";
import { Counter, type Registry } from "prom-client";
import type { RecordTaskEvents } from "../domain/record-task-events.use-case.ts";

/**
 * `POST /events/task-events` (subscription audit-log-task-events): every task.* event goes into
 * its task's history. Serves both delivery modes: one CloudEvent per request, or daprd's bulk
 * envelope when the subscription has bulkSubscribe enabled; each batch is one INSERT.
 *
 * - recorded now, or recorded before (a redelivery; counted, logged at debug): SUCCESS
 * - of a deleted account (a tombstone; see user-events.subscription.ts): SUCCESS, nothing recorded
 * - not a task event, breaks the contract, or data the database refuses: DROP (logged; daprd
 *   puts it on task-events.dead-letter)
 * - the database is unreachable or fails otherwise: RETRY (the handler throws; nothing is acknowledged)
 */
export function taskEventsRoute(deps: {
  record: RecordTaskEvents;
  logger: Logger;
  registry: Registry;
}): RequestHandler {
  const { logger } = deps;
  const recorded = new Counter({
    name: "audit_log_entries_recorded_total",
    help: "Task events appended to the history, by CloudEvent type.",
    labelNames: ["type"] as const,
    registers: [deps.registry],
  });
  const duplicates = new Counter({
    name: "audit_log_duplicate_events_suppressed_total",
    help: "Redelivered task events that were already in the history and were not recorded again.",
    registers: [deps.registry],
  });
  const purgedUser = new Counter({
    name: "audit_log_events_of_deleted_users_total",
    help: "Task events of deleted accounts (late or redelivered) that were acknowledged without recording.",
    registers: [deps.registry],
  });
  const rejected = new Counter({
    name: "audit_log_events_rejected_total",
    help: "Task events the database refused (dropped to the dead-letter topic).",
    registers: [deps.registry],
  });

  return subscriptionRoute({
    accept: TASK_EVENT_TYPES,
    logger,
    handle: async (events) => {
      const outcomes = await deps.record(events);
      return outcomes.map((outcome, i): EventOutcome => {
        const event = events[i];
        const context = { eventId: event?.id, type: event?.type, taskId: event?.data.taskId };
        switch (outcome.status) {
          case "recorded":
            if (event) recorded.inc({ type: event.type });
            return "SUCCESS";
          case "duplicate":
            duplicates.inc();
            logger.debug(context, "duplicate event: already recorded");
            return "SUCCESS";
          case "purged":
            // The owner's account was deleted: late or redelivered events record nothing.
            purgedUser.inc();
            logger.debug(context, "event of a deleted account: not recorded");
            return "SUCCESS";
          case "rejected":
            rejected.inc();
            logger.error({ ...context, reason: outcome.reason }, "event cannot be recorded");
            return "DROP";
        }
      });
    },
  });
}
