import { isUuid } from "@taskmesh/core";
import type { TaskEvent } from "@taskmesh/contracts";
import type { AppendOutcome, AuditEntry, AuditEntryStore } from "./audit-entry.ts";

export type RecordTaskEvents = (events: readonly TaskEvent[]) => Promise<AppendOutcome[]>;

function entryOf(event: TaskEvent): AuditEntry {
  const { data } = event;
  return {
    eventId: event.id.toLowerCase(),
    taskId: data.taskId,
    userId: data.userId,
    sequence: data.sequence,
    type: event.type,
    actor: data.actor,
    changes: data.changes,
    task: data.task,
    occurredAt: new Date(data.occurredAt),
  };
}

/**
 * Appends each task event to its task's history, once per event id: one store call for the
 * whole batch, whatever mix of new events and redeliveries it holds. Answers one outcome per
 * event, in order. Errors of the store (database down) propagate: nothing is known recorded.
 */
export function createRecordTaskEvents(store: AuditEntryStore): RecordTaskEvents {
  return async (events) => {
    const outcomes: (AppendOutcome | undefined)[] = events.map(() => undefined);
    const firstIndex = new Map<string, number>();
    const fresh: AuditEntry[] = [];
    const freshIndex: number[] = [];
    events.forEach((event, i) => {
      // Task events are keyed by task-api's outbox row ids, which are UUIDs; so is the history.
      if (!isUuid(event.id)) {
        outcomes[i] = { status: "rejected", reason: "the event id is not a UUID" };
        return;
      }
      const entry = entryOf(event);
      if (firstIndex.has(entry.eventId)) {
        // The same event twice in one delivery: the first one decides.
        return;
      }
      firstIndex.set(entry.eventId, i);
      fresh.push(entry);
      freshIndex.push(i);
    });

    const appended = fresh.length > 0 ? await store.append(fresh) : [];
    appended.forEach((outcome, k) => {
      outcomes[freshIndex[k] ?? -1] = outcome;
    });
    return events.map((event, i) => {
      const own = outcomes[i];
      if (own) return own;
      const first = outcomes[firstIndex.get(event.id.toLowerCase()) ?? -1];
      // A repeat within the batch is a duplicate of whatever became of the first.
      return first?.status === "rejected" ? first : { status: "duplicate" };
    });
  };
}
