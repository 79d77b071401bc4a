import { z } from "zod";

export const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;
export type Priority = (typeof PRIORITIES)[number];

// Instants on the wire are UTC ISO 8601 ("...Z"), as Date#toISOString() writes them.
const instant = z.iso.datetime();

/**
 * A user id: task-api's users.id, a UUID (v7 for accounts made since Better Auth generates
 * UUIDs, v8 for older ones derived from their 32-character ids). Consumers store it in uuid
 * columns, so anything else breaks the contract.
 */
export const userIdSchema = z.uuid().meta({
  description: "A user id (a UUID).",
  examples: ["0193a5f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b"],
});

/** A task as it is after a change (for task.deleted: as it was when deleted). */
export const taskSnapshotSchema = z
  .object({
    id: z.uuid(),
    userId: userIdSchema.meta({ description: "The owner." }),
    listId: z.uuid().nullable(),
    parentId: z.uuid().nullable().meta({ description: "Set for a subtask." }),
    title: z.string().min(1).max(200),
    description: z.string().nullable(),
    completed: z.boolean(),
    completedAt: instant.nullable(),
    priority: z.enum(PRIORITIES),
    tags: z.array(z.string()).meta({ description: "Tag names." }),
    dueAt: instant.nullable().meta({
      description: "For an all-day task, the start of the due date in the owner's time zone.",
    }),
    allDay: z.boolean(),
    recurrence: z
      .string()
      .nullable()
      .meta({ description: "RFC 5545 RRULE without DTSTART: the series starts at dueAt." }),
    remindAt: instant.nullable(),
    createdAt: instant,
    updatedAt: instant,
    version: z.number().int().min(1).meta({ description: "Bumped on every change." }),
  })
  .meta({ description: "A task as task-api stores it." });

export type TaskSnapshot = z.infer<typeof taskSnapshotSchema>;

export const actorSchema = z
  .object({
    kind: z.enum(["user", "service"]),
    // Not a userIdSchema: for kind "service" it is a Dapr app id (e.g. "recurring-tasks").
    id: z.string().min(1).meta({ description: "A user id, or the app id of a service." }),
  })
  .meta({ description: "Who made the change." });

export type Actor = z.infer<typeof actorSchema>;

export const fieldChangeSchema = z
  .object({ from: z.unknown(), to: z.unknown() })
  .meta({ description: "A field's value before and after the change (null for none)." });

export const taskEventDataSchema = z
  .object({
    taskId: z.uuid(),
    userId: userIdSchema.meta({ description: "The task's owner." }),
    sequence: z.number().int().min(1).meta({
      description:
        "Per task, strictly increasing: the task's version after the change; for task.deleted, the version + 1.",
    }),
    occurredAt: instant.meta({ description: "When the change was committed." }),
    actor: actorSchema,
    task: taskSnapshotSchema,
    changes: z.record(z.string(), fieldChangeSchema).meta({
      description: "Changed fields by name; empty for task.created (the whole task is in `task`).",
    }),
  })
  .meta({ description: "The data of every task.* event." });

export type TaskEventData = z.infer<typeof taskEventDataSchema>;
