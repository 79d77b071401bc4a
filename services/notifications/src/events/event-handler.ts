import { isTaskEventType, type TaskEvent, type TaskmeshEvent } from "@taskmesh/contracts";
import type { Logger } from "@taskmesh/core";
import type { EventOutcome, ProcessedEvents } from "@taskmesh/dapr";
import type pg from "pg";

import { applyReminderChange } from "../data/reminder.repository.ts";
import { appendStreamEvent } from "../data/stream-event.repository.ts";
import { withTransaction } from "../data/transaction.ts";
import { reminderChangeFor } from "../domain/reminder-rules.ts";

export interface EventHandlerDeps {
  pool: pg.Pool;
  processedEvents: ProcessedEvents;
  /** The webhooks module's fan-out (enqueues deliveries); idempotent by event id. */
  fanOut?: ((event: TaskmeshEvent) => Promise<void>) | undefined;
  logger: Logger;
}

/**
 * Everything notifications does with one consumed event, each step idempotent by event id:
 * (a) a task event updates the task's reminder (ordered by the task's sequence), (b) the event
 * is stored for its owner's live streams (once per id) and every replica is notified, both in
 * one transaction; (c) the webhook fan-out. The processed-ids record in the state store only
 * skips the work for redeliveries. A throw makes the sidecar redeliver (RETRY).
 */
function isTaskEvent(event: TaskmeshEvent): event is TaskEvent {
  return isTaskEventType(event.type);
}

export function createEventHandler(deps: EventHandlerDeps): (event: TaskmeshEvent) => Promise<EventOutcome> {
  return async (event) => {
    if (await deps.processedEvents.has(event.id)) {
      deps.logger.debug({ eventId: event.id }, "event already processed");
      return "SUCCESS";
    }
    await withTransaction(deps.pool, async (client) => {
      if (isTaskEvent(event)) await applyReminderChange(client, reminderChangeFor(event));
      await appendStreamEvent(client, event.data.userId, event);
    });
    await deps.fanOut?.(event);
    await deps.processedEvents.remember(event.id);
    return "SUCCESS";
  };
}
