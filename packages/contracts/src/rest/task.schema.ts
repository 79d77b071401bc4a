/** The REST shapes of tasks: what task-api takes and answers, and what its clients read. */
import { z } from "zod";
import "zod-openapi";
import { id, instant, instantOut, noNul, storable } from "./common.schema.ts";
import { PRIORITIES } from "../task-event.schema.ts";
import { pageOf } from "./page.schema.ts";
import { tagName } from "./tag.schema.ts";

// PRIORITIES (and its type Priority) are the event contract's: one list for events and REST.
export const SORT_KEYS = ["dueAt", "priority", "createdAt", "updatedAt", "title"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

const title = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(200)
  .refine(noNul, "must not contain NUL characters")
  .meta({ description: "1-200 characters, trimmed." });
const description = z
  .string()
  .max(10_000)
  .refine(noNul, "must not contain NUL characters")
  .meta({ description: "Up to 10,000 characters; Markdown, stored and returned as plain text." });
export const priority = z.enum(PRIORITIES).meta({ id: "Priority" });
const dueAt = storable(z.union([z.iso.datetime({ offset: true }), z.iso.date()])).meta({
  description:
    "An instant (offset at most ±14:00), or a calendar date (YYYY-MM-DD) for an all-day task in your time zone.",
  examples: ["2026-12-01"],
});
const recurrence = z
  .string()
  .max(500)
  .meta({
    description:
      "RFC 5545 RRULE, without DTSTART (the series starts at dueAt); needs a dueAt. HOURLY is the highest frequency.",
    examples: ["FREQ=WEEKLY;BYDAY=MO,WE"],
  });

// ---- tasks ----------------------------------------------------------------

const taskFields = {
  description: description.nullable(),
  priority,
  tags: z.array(tagName).max(20).meta({ description: "Tag names; missing tags are created." }),
  listId: id.nullable(),
  parentId: id.nullable().meta({ description: "Makes this a subtask (one level) of one of your tasks." }),
  dueAt: dueAt.nullable(),
  allDay: z.boolean().meta({ description: "Only the date of dueAt matters, in your time zone." }),
  recurrence: recurrence.nullable(),
  remindAt: instant.nullable(),
};

export const createTaskBody = z
  .strictObject({ title, ...z.object(taskFields).partial().shape })
  .meta({ id: "CreateTask" });
export type CreateTaskBody = z.infer<typeof createTaskBody>;
export const updateTaskBody = z
  .strictObject({ title, ...taskFields })
  .partial()
  .meta({ id: "UpdateTask", description: "JSON merge patch: absent fields stay, null clears." });
export type UpdateTaskBody = z.infer<typeof updateTaskBody>;

export const taskSchema = z
  .object({
    id,
    listId: id.nullable(),
    parentId: id.nullable(),
    title: z.string(),
    description: z.string().nullable(),
    completed: z.boolean(),
    completedAt: instantOut.nullable(),
    priority,
    tags: z.array(z.string()),
    dueAt: instantOut.nullable(),
    allDay: z.boolean(),
    dueDate: z.iso.date().nullable().meta({ description: "The calendar date of dueAt in your time zone." }),
    recurrence: z.string().nullable(),
    remindAt: instantOut.nullable(),
    createdAt: instantOut,
    updatedAt: instantOut,
    version: z
      .number()
      .int()
      .min(1)
      .meta({ description: "Bumped on every change; the ETag is its quoted form." }),
  })
  .meta({ id: "Task" });
export type Task = z.infer<typeof taskSchema>;
export const taskPageSchema = pageOf(taskSchema, "TaskPage");

/** One value or several, repeated (?tag=a&tag=b) or comma-separated (?priority=high,urgent). */
function many<T extends z.ZodType<string>>(item: T) {
  const split = (value: unknown): unknown =>
    typeof value === "string" || Array.isArray(value)
      ? [value].flat().flatMap((s: unknown) =>
          typeof s === "string"
            ? s
                .split(",")
                .map((p) => p.trim())
                .filter(Boolean)
            : [s],
        )
      : value;
  return z.preprocess(split, z.array(item).min(1).max(20)).meta({ style: "form", explode: true });
}

// One to five keys, each optionally descending, as a pattern generators can read; that no key
// comes twice is said in the description only (a pattern cannot say it in a form they read).
const sortTerm = `-?(?:${SORT_KEYS.join("|")})`;
const sortParam = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const terms = value.split(",").map((raw) => {
      const desc = raw.startsWith("-");
      return { key: desc ? raw.slice(1) : raw, desc };
    });
    for (const term of terms) {
      if (!(SORT_KEYS as readonly string[]).includes(term.key)) {
        ctx.addIssue({
          code: "custom",
          message: `'${term.key}' is not a sort key (${SORT_KEYS.join(", ")})`,
        });
        return z.NEVER;
      }
    }
    if (new Set(terms.map((t) => t.key)).size !== terms.length) {
      ctx.addIssue({ code: "custom", message: "names a sort key twice" });
      return z.NEVER;
    }
    return terms as { key: SortKey; desc: boolean }[];
  })
  .meta({
    description: `Comma-separated keys of ${SORT_KEYS.join(", ")}, each at most once; '-' for descending. Ties break on id. Default: dueAt (undated last), or relevance with q.`,
    examples: ["-priority,dueAt"],
    pattern: `^${sortTerm}(?:,${sortTerm}){0,${String(SORT_KEYS.length - 1)}}$`,
  });

const idOrNone = z.union([z.uuid(), z.literal("none")]);
export const listTasksQuery = z.strictObject({
  status: z.enum(["open", "completed", "all"]).default("open"),
  priority: many(priority).optional(),
  tag: many(tagName).optional(),
  tagMatch: z
    .enum(["any", "all"])
    .default("any")
    .meta({ description: "Whether a task needs any or all of the tags." }),
  listId: idOrNone.optional().meta({ description: "A list id, or 'none' for tasks in no list." }),
  parentId: idOrNone
    .optional()
    .meta({ description: "A task id for its subtasks, or 'none' for top-level tasks." }),
  dueBefore: dueAt
    .optional()
    .meta({ description: "dueAt earlier than this instant or the start of this date." }),
  dueAfter: dueAt
    .optional()
    .meta({ description: "dueAt at or after this instant or the start of this date." }),
  overdue: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: "Full-text search of title and description, ranked; words match as prefixes." }),
  sort: sortParam.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .max(2000)
    .optional()
    .meta({ description: "nextCursor of the previous page, with the same filters and sort." }),
});
export type ListTasksQuery = z.infer<typeof listTasksQuery>;
