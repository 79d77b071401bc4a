import { UnavailableError, type Logger } from "@taskmesh/core";
import { TASK_EVENT_TYPES } from "@taskmesh/contracts";
import { subscriptionRoute, type EventOutcome } from "@taskmesh/dapr";
import type { RequestHandler } from "express";
import { Counter, type Registry } from "prom-client";
import type { ScheduleNextOccurrence, ScheduleOutcome } from "../domain/schedule-next-occurrence.use-case.ts";

const OUTCOMES: Record<ScheduleOutcome["status"], EventOutcome> = {
  created: "SUCCESS",
  existing: "SUCCESS",
  "not-recurring": "SUCCESS",
  "already-handled": "SUCCESS",
  "series-ended": "SUCCESS",
  skipped: "SUCCESS",
  refused: "DROP",
};

/**
 * `POST /events/task-events` (subscription recurring-tasks-task-events): the whole topic
 * arrives here, one CloudEvent per request or in daprd's bulk envelope; only task.completed
 * of a recurring task does anything. Events of a batch are handled one after another.
 *
 * - next task created, created before, not recurring, series ended, owner or list gone: SUCCESS
 * - task-api or the sidecar unreachable, 5xx, 408/409/429: RETRY (daprd redelivers; the
 *   occurrence key makes the repeated create harmless)
 * - not a task event, breaks the contract, a rule that cannot be computed, or any other client
 *   error from task-api (401/403: this app is not trusted or not allowed to call; 422): DROP,
 *   logged, and daprd puts it on task-events.dead-letter, where a misconfiguration stays visible
 */
export function taskEventsRoute(deps: {
  schedule: ScheduleNextOccurrence;
  logger: Logger;
  registry: Registry;
}): RequestHandler {
  const { schedule, logger } = deps;
  const handled = new Counter({
    name: "recurring_tasks_events_total",
    help: "Task events handled, by what became of them (created, existing, not-recurring, already-handled, series-ended, skipped, refused, retry).",
    labelNames: ["outcome"] as const,
    registers: [deps.registry],
  });

  return subscriptionRoute({
    accept: TASK_EVENT_TYPES,
    logger,
    handle: async (events) => {
      const outcomes: EventOutcome[] = [];
      for (const event of events) {
        let outcome: ScheduleOutcome;
        try {
          outcome = await schedule(event);
        } catch (err) {
          if (!(err instanceof UnavailableError)) throw err;
          handled.inc({ outcome: "retry" });
          logger.warn(
            { err, eventId: event.id, taskId: event.data.taskId },
            "task-api or the sidecar is unavailable; will retry",
          );
          outcomes.push("RETRY");
          continue;
        }
        handled.inc({ outcome: outcome.status });
        const context = { eventId: event.id, type: event.type, ...outcome };
        if (outcome.status === "refused") logger.error(context, "next occurrence cannot be created");
        else if (outcome.status === "created") logger.info(context, "next occurrence created");
        else if (outcome.status !== "not-recurring")
          logger.info(context, `next occurrence: ${outcome.status}`);
        outcomes.push(OUTCOMES[outcome.status]);
      }
      return outcomes;
    },
  });
}
