import { partitionKeyFor, PUBSUB_NAME, TOPICS } from "@taskmesh/contracts";
import type { Logger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import { reminderDueEvent, type DueReminder } from "./reminder-due.ts";

/**
 * Claims up to `limit` due reminders and hands them to `publish` in one transaction that commits
 * only when `publish` resolved; returns the reminders fired (data/reminder.repository.ts).
 */
export type FireDueReminders = (
  limit: number,
  publish: (reminders: DueReminder[]) => Promise<void>,
) => Promise<DueReminder[]>;

export interface FireRemindersDeps {
  fireDue: FireDueReminders;
  sidecar: Pick<SidecarClient, "publish">;
  logger: Logger;
  batchSize: number;
  /** Batches per tick at most; the rest waits for the next tick. */
  maxBatches?: number;
  /** Told how many reminders each committed batch fired (metrics). */
  onFired?: (count: number) => void;
}

/**
 * One cron tick: publishes reminder.due for every reminder whose remindAt has passed and that
 * has not fired, each once across all replicas (see FireDueReminders). Returns how many fired.
 * A publish failure throws (UnavailableError) after rolling its batch back.
 */
export function createFireReminders(deps: FireRemindersDeps): () => Promise<number> {
  const maxBatches = deps.maxBatches ?? 10;
  return async () => {
    let fired = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const due = await deps.fireDue(deps.batchSize, async (reminders) => {
        // One at a time, in remindAt order; a failure stops the batch and rolls it all back.
        for (const reminder of reminders) {
          const event = reminderDueEvent(reminder);
          await deps.sidecar.publish(PUBSUB_NAME, TOPICS.reminders, event, {
            partitionKey: partitionKeyFor(event),
          });
        }
      });
      fired += due.length;
      if (due.length > 0) {
        deps.onFired?.(due.length);
        deps.logger.info({ count: due.length, taskIds: due.map((r) => r.taskId) }, "reminders fired");
      }
      if (due.length < deps.batchSize) break;
    }
    return fired;
  };
}
