import { EVENT_TYPES, TOPICS, type TaskEventType } from "@taskmesh/contracts";
import type { JsonObject, JsonValue, OutboxMessage, TaskView } from "./ports.ts";

/** Who made a change: a person through the API, or a service acting for them. */
export interface Actor {
  kind: "user" | "service";
  id: string;
}

/** A change the user made themself (a trusted service acting for them is the actor of its own changes). */
export function userActor(userId: string): Actor {
  return { kind: "user", id: userId };
}

type TaskEventKind = "created" | "updated" | "completed" | "reopened" | "deleted";
const EVENT_TYPE: Record<TaskEventKind, TaskEventType> = {
  created: EVENT_TYPES.taskCreated,
  updated: EVENT_TYPES.taskUpdated,
  completed: EVENT_TYPES.taskCompleted,
  reopened: EVENT_TYPES.taskReopened,
  deleted: EVENT_TYPES.taskDeleted,
};

/** The fields whose changes an event reports (updatedAt/version always move; dueDate follows dueAt). */
const REPORTED_FIELDS = [
  "listId",
  "parentId",
  "title",
  "description",
  "completed",
  "completedAt",
  "priority",
  "tags",
  "dueAt",
  "allDay",
  "recurrence",
  "remindAt",
] as const satisfies readonly (keyof TaskView)[];

function snapshot(userId: string, view: TaskView): JsonObject {
  const { dueDate: _derived, ...task } = view;
  return { ...task, userId };
}

function changedFields(before: TaskView, after: TaskView): JsonObject {
  const changes: Record<string, { from: JsonValue | null; to: JsonValue | null }> = {};
  for (const field of REPORTED_FIELDS) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
      changes[field] = { from: before[field], to: after[field] };
    }
  }
  return changes;
}

/**
 * One event per task that a change touched, from the tasks as they were before and after
 * it in the same transaction: new -> created, gone -> deleted, completed flipped ->
 * completed/reopened, any other new version -> updated. The sequence is the task's
 * version after the change (a deletion is one past the last version), so consumers can
 * order and deduplicate each task's events.
 */
export function taskChangeEvents(
  userId: string,
  actor: Actor,
  before: readonly TaskView[],
  after: readonly TaskView[],
  occurredAt: Date,
): OutboxMessage[] {
  const was = new Map(before.map((t) => [t.id, t]));
  const is = new Map(after.map((t) => [t.id, t]));
  const ids = [...new Set([...before.map((t) => t.id), ...after.map((t) => t.id)])];
  const events: OutboxMessage[] = [];
  for (const id of ids) {
    const old = was.get(id);
    const current = is.get(id);
    let kind: TaskEventKind;
    let task: TaskView;
    let sequence: number;
    let changes: JsonObject = {};
    if (old === undefined && current !== undefined) {
      [kind, task, sequence] = ["created", current, current.version];
    } else if (old !== undefined && current === undefined) {
      [kind, task, sequence] = ["deleted", old, old.version + 1];
    } else if (old !== undefined && current !== undefined && current.version !== old.version) {
      changes = changedFields(old, current);
      kind = old.completed === current.completed ? "updated" : current.completed ? "completed" : "reopened";
      [task, sequence] = [current, current.version];
    } else {
      continue;
    }
    events.push({
      topic: TOPICS.taskEvents,
      type: EVENT_TYPE[kind],
      partitionKey: id,
      data: {
        taskId: id,
        userId,
        sequence,
        occurredAt: occurredAt.toISOString(),
        actor: { kind: actor.kind, id: actor.id },
        task: snapshot(userId, task),
        changes,
      },
    });
  }
  return events;
}
