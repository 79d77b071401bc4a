import { EVENT_TYPES, newEvent, type EventOf, type EventType } from "./event-catalog.ts";
import type { TaskSnapshot } from "./task-event.schema.ts";

const TASK_ID = "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f";
const USER_ID = "0193a5f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b";
const CREATED_AT = "2026-11-20T09:00:00.000Z";

const created: TaskSnapshot = {
  id: TASK_ID,
  userId: USER_ID,
  listId: null,
  parentId: null,
  title: "Water the plants",
  description: null,
  completed: false,
  completedAt: null,
  priority: "medium",
  tags: ["home"],
  dueAt: "2026-11-21T17:00:00.000Z",
  allDay: false,
  recurrence: "FREQ=WEEKLY;BYDAY=SA",
  remindAt: "2026-11-21T16:30:00.000Z",
  createdAt: CREATED_AT,
  updatedAt: CREATED_AT,
  version: 1,
};
const updated: TaskSnapshot = {
  ...created,
  priority: "high",
  updatedAt: "2026-11-20T10:00:00.000Z",
  version: 2,
};
const completed: TaskSnapshot = {
  ...updated,
  completed: true,
  completedAt: "2026-11-21T17:05:00.000Z",
  updatedAt: "2026-11-21T17:05:00.000Z",
  version: 3,
};
const reopened: TaskSnapshot = {
  ...completed,
  completed: false,
  completedAt: null,
  updatedAt: "2026-11-21T17:06:00.000Z",
  version: 4,
};
const user = { kind: "user", id: USER_ID } as const;

/**
 * One valid event of every type, with fixed ids and times: the examples of the AsyncAPI
 * document, and a starting point for consumers' tests (spread and override what matters).
 */
export function exampleEvents(): { [T in EventType]: EventOf<T> } {
  return {
    [EVENT_TYPES.taskCreated]: newEvent(
      EVENT_TYPES.taskCreated,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        sequence: 1,
        occurredAt: CREATED_AT,
        actor: user,
        task: created,
        changes: {},
      },
      { id: "01936f4e-8a3b-7000-8000-000000000001", time: CREATED_AT },
    ),
    [EVENT_TYPES.taskUpdated]: newEvent(
      EVENT_TYPES.taskUpdated,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        sequence: 2,
        occurredAt: updated.updatedAt,
        actor: user,
        task: updated,
        changes: { priority: { from: "medium", to: "high" } },
      },
      { id: "01936f4e-8a3b-7000-8000-000000000002", time: updated.updatedAt },
    ),
    [EVENT_TYPES.taskCompleted]: newEvent(
      EVENT_TYPES.taskCompleted,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        sequence: 3,
        occurredAt: completed.updatedAt,
        actor: user,
        task: completed,
        changes: {
          completed: { from: false, to: true },
          completedAt: { from: null, to: completed.completedAt },
        },
      },
      { id: "01936f4e-8a3b-7000-8000-000000000003", time: completed.updatedAt },
    ),
    [EVENT_TYPES.taskReopened]: newEvent(
      EVENT_TYPES.taskReopened,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        sequence: 4,
        occurredAt: reopened.updatedAt,
        actor: user,
        task: reopened,
        changes: {
          completed: { from: true, to: false },
          completedAt: { from: completed.completedAt, to: null },
        },
      },
      { id: "01936f4e-8a3b-7000-8000-000000000004", time: reopened.updatedAt },
    ),
    [EVENT_TYPES.taskDeleted]: newEvent(
      EVENT_TYPES.taskDeleted,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        sequence: 5,
        occurredAt: "2026-11-22T08:00:00.000Z",
        actor: user,
        task: reopened,
        changes: {},
      },
      { id: "01936f4e-8a3b-7000-8000-000000000005", time: "2026-11-22T08:00:00.000Z" },
    ),
    [EVENT_TYPES.reminderDue]: newEvent(
      EVENT_TYPES.reminderDue,
      {
        taskId: TASK_ID,
        userId: USER_ID,
        remindAt: "2026-11-21T16:30:00.000Z",
        title: created.title,
        dueAt: created.dueAt,
        firedAt: "2026-11-21T16:30:12.000Z",
      },
      { id: "01936f4e-8a3b-7000-8000-000000000006", time: "2026-11-21T16:30:12.000Z" },
    ),
    [EVENT_TYPES.userDeleted]: newEvent(
      EVENT_TYPES.userDeleted,
      { userId: USER_ID, occurredAt: "2026-11-23T12:00:00.000Z", actor: user },
      { id: "01936f4e-8a3b-7000-8000-000000000007", time: "2026-11-23T12:00:00.000Z" },
    ),
  };
}
