/**
 * The shapes tools take and return. Field names are task-api's (dueAt, remindAt, recurrence,
 * listId...): the same word in the schema, the REST API, the events and the MCP tools.
 * task-api validates every value again; these schemas give the model early, precise errors.
 */
import {
  historyEntrySchema,
  listSchema,
  PRIORITIES,
  SORT_KEYS,
  tagSchema,
  taskSchema,
} from "@taskmesh/contracts";
import { z } from "zod";

// The tools take the REST API's priorities and sort keys, and return its shapes.
export { PRIORITIES, SORT_KEYS };

export const id = z.string().min(1).max(100).describe("An id as returned by taskmesh (a UUID).");
export const cursor = z
  .string()
  .min(1)
  .max(2000)
  .describe("nextCursor from the previous call (same filters), to continue.");
export const expectedVersion = z
  .number()
  .int()
  .min(1)
  .optional()
  .describe(
    "The task version you last saw; the change is refused if the task changed since. Omit to apply anyway.",
  );

const dueAt = z
  .string()
  .max(40)
  .describe(
    "When it is due: YYYY-MM-DD for an all-day task (in the user's time zone), or an ISO 8601 date-time with offset. Resolve natural dates like 'next Friday' yourself before calling.",
  );

export const taskFields = {
  description: z.string().max(10_000).nullable().optional().describe("Details, up to 10,000 characters."),
  priority: z.enum(PRIORITIES).optional(),
  tags: z.array(z.string().min(1).max(50)).max(20).optional().describe("Tag names; new ones are created."),
  listId: id.nullable().optional().describe("A list id from list_lists; null for no list."),
  parentId: id.nullable().optional().describe("Makes this a subtask of that task."),
  dueAt: dueAt.nullable().optional(),
  allDay: z
    .boolean()
    .optional()
    .describe("Only the date of dueAt matters (set automatically for YYYY-MM-DD)."),
  recurrence: z
    .string()
    .max(500)
    .nullable()
    .optional()
    .describe("RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;BYDAY=MO,WE. Needs a dueAt."),
  remindAt: z
    .string()
    .max(40)
    .nullable()
    .optional()
    .describe("ISO 8601 date-time with offset for a reminder."),
};

export const newTaskInput = z.object({
  title: z.string().min(1).max(200).describe("1-200 characters."),
  ...taskFields,
});
export type NewTaskInput = z.infer<typeof newTaskInput>;

export const taskChanges = z.object({ title: z.string().min(1).max(200).optional(), ...taskFields });
export type TaskChanges = z.infer<typeof taskChanges>;

/** A task as task-api answers it: the REST contract's Task, so every field it adds is here too. */
export const taskOutput = z.object(taskSchema.shape);
export type TaskOutput = z.infer<typeof taskOutput>;

/** The fields a model needs to pick a task from a list; get_task has the rest. */
const COMPACT_FIELDS = {
  id: true,
  title: true,
  completed: true,
  priority: true,
  dueAt: true,
  dueDate: true,
  tags: true,
  listId: true,
  version: true,
} as const;

/** A list entry: the compact fields; get_task has the rest. */
export const compactTaskOutput = taskSchema.pick(COMPACT_FIELDS).extend({ recurring: z.boolean() });

export const listEntryOutput = compactTaskOutput.extend(taskOutput.omit(COMPACT_FIELDS).partial().shape);

export const itemErrorOutput = z.object({ code: z.string(), message: z.string(), hint: z.string() });

/** What the batch tools return: every item by its index, with its task or its error. */
export const batchOutput = z.object({
  succeeded: z.number().int(),
  failed: z.number().int(),
  items: z.array(
    z.object({
      index: z.number().int(),
      ok: z.boolean(),
      result: taskOutput.optional(),
      error: itemErrorOutput.optional(),
    }),
  ),
});

export const listOutput = listSchema.pick({ id: true, name: true, openTaskCount: true, version: true });

export const tagOutput = z.object(tagSchema.shape);

/** One change in a task's history, as task-api answers it. */
export const historyEntryOutput = z.object(historyEntrySchema.shape);

export const pageMeta = {
  nextCursor: z.string().nullable().describe("Pass as cursor to get more; null when there is no more."),
};
