import {
  isTaskEventType,
  isUserEventType,
  type TaskEvent,
  type TaskmeshEvent,
  type UserDeletedEvent,
} from "@taskmesh/contracts";
import { databaseSqlState, type Logger } from "@taskmesh/core";
import type { EventOutcome, ProcessedEvents } from "@taskmesh/dapr";
import type pg from "pg";

import { lockLiveUser, purgeDeletedUser } from "../data/deleted-user.repository.ts";
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
 *
 * user.deleted purges everything kept for the user and leaves a tombstone (purgeDeletedUser);
 * any later event of that user (a late or redelivered task event, a reminder fired just before
 * the purge) stores nothing and reaches no webhook. The check and the purge meet under the
 * user's advisory lock, so an event in flight during a purge is either purged with the rest or
 * sees the tombstone. A fan-out that read the user's webhooks just before the purge fails on
 * their foreign key when it inserts, and so is retried, and then finds the tombstone.
 */
function isTaskEvent(event: TaskmeshEvent): event is TaskEvent {
  return isTaskEventType(event.type);
}

function isUserDeleted(event: TaskmeshEvent): event is UserDeletedEvent {
  return isUserEventType(event.type);
}

export function createEventHandler(deps: EventHandlerDeps): (event: TaskmeshEvent) => Promise<EventOutcome> {
  const { logger } = deps;
  return async (event) => {
    if (await deps.processedEvents.has(event.id)) {
      logger.debug({ eventId: event.id }, "event already processed");
      return "SUCCESS";
    }
    if (isUserDeleted(event)) {
      const { userId } = event.data;
      let purged;
      try {
        purged = await purgeDeletedUser(deps.pool, userId, new Date(event.data.occurredAt));
      } catch (err) {
        // A user id the database refuses (SQLSTATE class 22, e.g. a NUL byte) never will be taken.
        if (!databaseSqlState(err)?.startsWith("22")) throw err;
        logger.error({ err, eventId: event.id }, "user.deleted cannot be applied; dropped");
        return "DROP";
      }
      const context = { eventId: event.id, userId, ...purged };
      if (purged.alreadyPurged) logger.debug(context, "deleted account purged before");
      else logger.info(context, "deleted account: webhooks, deliveries, reminders and stream events purged");
      await deps.processedEvents.remember(event.id);
      return "SUCCESS";
    }
    const stored = await withTransaction(deps.pool, async (client) => {
      if (!(await lockLiveUser(client, event.data.userId))) return false;
      if (isTaskEvent(event)) await applyReminderChange(client, reminderChangeFor(event));
      await appendStreamEvent(client, event.data.userId, event);
      return true;
    });
    if (!stored) {
      logger.debug({ eventId: event.id, type: event.type }, "event of a deleted account: nothing stored");
      await deps.processedEvents.remember(event.id);
      return "SUCCESS";
    }
    await deps.fanOut?.(event);
    await deps.processedEvents.remember(event.id);
    return "SUCCESS";
  };
}
