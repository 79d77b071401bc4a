import { z } from "zod";
import { EVENT_DATA_CONTENT_TYPE, typedCloudEventSchema } from "./cloud-event.schema.ts";
import { reminderDueDataSchema } from "./reminder-event.schema.ts";
import { taskEventDataSchema, type TaskEventData } from "./task-event.schema.ts";
import { userDeletedDataSchema } from "./user-event.schema.ts";
import { EVENT_SOURCES, TOPICS, type Topic } from "./topics.ts";

/**
 * CloudEvent types. The version is part of the type: a breaking change to a payload is a new
 * type (…v2) published next to the old one until every consumer has moved.
 */
export const EVENT_TYPES = {
  taskCreated: "dev.taskmesh.task.created.v1",
  taskUpdated: "dev.taskmesh.task.updated.v1",
  taskCompleted: "dev.taskmesh.task.completed.v1",
  taskReopened: "dev.taskmesh.task.reopened.v1",
  taskDeleted: "dev.taskmesh.task.deleted.v1",
  reminderDue: "dev.taskmesh.reminder.due.v1",
  userDeleted: "dev.taskmesh.user.deleted.v1",
} as const;

export const TASK_EVENT_TYPES = [
  EVENT_TYPES.taskCreated,
  EVENT_TYPES.taskUpdated,
  EVENT_TYPES.taskCompleted,
  EVENT_TYPES.taskReopened,
  EVENT_TYPES.taskDeleted,
] as const;
export type TaskEventType = (typeof TASK_EVENT_TYPES)[number];

export const REMINDER_EVENT_TYPES = [EVENT_TYPES.reminderDue] as const;
export type ReminderEventType = (typeof REMINDER_EVENT_TYPES)[number];

export const USER_EVENT_TYPES = [EVENT_TYPES.userDeleted] as const;
export type UserEventType = (typeof USER_EVENT_TYPES)[number];

export type EventType = TaskEventType | ReminderEventType | UserEventType;
export const ALL_EVENT_TYPES: readonly EventType[] = [
  ...TASK_EVENT_TYPES,
  ...REMINDER_EVENT_TYPES,
  ...USER_EVENT_TYPES,
];

/** Rules across fields that JSON Schema cannot say; checked on parse, by producer and consumer alike. */
function taskEventRules(type: TaskEventType) {
  return (data: TaskEventData, ctx: z.RefinementCtx): void => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: "custom", path: ["data", ...path], message });
    };
    if (data.taskId !== data.task.id) issue(["taskId"], "must equal task.id");
    if (data.userId !== data.task.userId) issue(["userId"], "must equal task.userId");
    const expected = type === EVENT_TYPES.taskDeleted ? data.task.version + 1 : data.task.version;
    if (data.sequence !== expected) {
      issue(
        ["sequence"],
        `must be ${expected} (task.version${expected === data.task.version ? "" : " + 1"})`,
      );
    }
    if (type === EVENT_TYPES.taskCreated && Object.keys(data.changes).length > 0) {
      issue(["changes"], "must be empty for task.created");
    }
    if (type === EVENT_TYPES.taskCompleted && !data.task.completed) {
      issue(["task", "completed"], "must be true for task.completed");
    }
    if (type === EVENT_TYPES.taskReopened && data.task.completed) {
      issue(["task", "completed"], "must be false for task.reopened");
    }
  };
}

function taskEventSchemaFor<T extends TaskEventType>(type: T) {
  const rules = taskEventRules(type);
  return typedCloudEventSchema(type, EVENT_SOURCES.taskApi, taskEventDataSchema).superRefine((event, ctx) => {
    rules(event.data, ctx);
  });
}

export const taskCreatedEventSchema = taskEventSchemaFor(EVENT_TYPES.taskCreated);
export const taskUpdatedEventSchema = taskEventSchemaFor(EVENT_TYPES.taskUpdated);
export const taskCompletedEventSchema = taskEventSchemaFor(EVENT_TYPES.taskCompleted);
export const taskReopenedEventSchema = taskEventSchemaFor(EVENT_TYPES.taskReopened);
export const taskDeletedEventSchema = taskEventSchemaFor(EVENT_TYPES.taskDeleted);
export const reminderDueEventSchema = typedCloudEventSchema(
  EVENT_TYPES.reminderDue,
  EVENT_SOURCES.notifications,
  reminderDueDataSchema,
);
export const userDeletedEventSchema = typedCloudEventSchema(
  EVENT_TYPES.userDeleted,
  EVENT_SOURCES.taskApi,
  userDeletedDataSchema,
);

/** Per event type: its envelope schema, topic, CloudEvents source and a one-line summary. */
export const EVENT_CATALOG = {
  [EVENT_TYPES.taskCreated]: {
    schema: taskCreatedEventSchema,
    topic: TOPICS.taskEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "A task was created.",
  },
  [EVENT_TYPES.taskUpdated]: {
    schema: taskUpdatedEventSchema,
    topic: TOPICS.taskEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "Fields of a task other than its completion changed.",
  },
  [EVENT_TYPES.taskCompleted]: {
    schema: taskCompletedEventSchema,
    topic: TOPICS.taskEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "A task was completed.",
  },
  [EVENT_TYPES.taskReopened]: {
    schema: taskReopenedEventSchema,
    topic: TOPICS.taskEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "A completed task was reopened.",
  },
  [EVENT_TYPES.taskDeleted]: {
    schema: taskDeletedEventSchema,
    topic: TOPICS.taskEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "A task was deleted.",
  },
  [EVENT_TYPES.reminderDue]: {
    schema: reminderDueEventSchema,
    topic: TOPICS.reminders,
    source: EVENT_SOURCES.notifications,
    summary: "A task's reminder came due.",
  },
  [EVENT_TYPES.userDeleted]: {
    schema: userDeletedEventSchema,
    topic: TOPICS.userEvents,
    source: EVENT_SOURCES.taskApi,
    summary: "An account was deleted with everything it owned: every consumer purges the user's data.",
  },
} as const satisfies Record<EventType, { schema: z.ZodType; topic: Topic; source: string; summary: string }>;

export type EventOf<T extends EventType> = z.infer<(typeof EVENT_CATALOG)[T]["schema"]>;
export type TaskEvent = EventOf<TaskEventType>;
export type ReminderDueEvent = EventOf<typeof EVENT_TYPES.reminderDue>;
export type UserDeletedEvent = EventOf<typeof EVENT_TYPES.userDeleted>;
export type TaskmeshEvent = EventOf<EventType>;
export type EventDataOf<T extends EventType> = EventOf<T>["data"];

export function isTaskEventType(type: string): type is TaskEventType {
  return (TASK_EVENT_TYPES as readonly string[]).includes(type);
}

export function isUserEventType(type: string): type is UserEventType {
  return (USER_EVENT_TYPES as readonly string[]).includes(type);
}

export function isEventType(type: string): type is EventType {
  return (ALL_EVENT_TYPES as readonly string[]).includes(type);
}

/** The topic an event type is published to. */
export function topicFor(type: EventType): Topic {
  return EVENT_CATALOG[type].topic;
}

export interface NewEventOptions {
  /** CloudEvent id: for task events, the outbox row id (stable across republishing). */
  id: string;
  /** Defaults to now. */
  time?: string;
}

/**
 * Builds a complete, validated envelope for `type` (source and content type filled in);
 * throws a ZodError when the data breaks the contract, so a producer fails before publishing.
 */
export function newEvent<T extends EventType>(
  type: T,
  data: EventDataOf<T>,
  options: NewEventOptions,
): EventOf<T> {
  const entry = EVENT_CATALOG[type];
  const envelope = {
    specversion: "1.0",
    id: options.id,
    source: entry.source,
    type,
    datacontenttype: EVENT_DATA_CONTENT_TYPE,
    time: options.time ?? new Date().toISOString(),
    data,
  };
  return entry.schema.parse(envelope) as EventOf<T>;
}
