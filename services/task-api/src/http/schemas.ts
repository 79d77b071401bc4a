/**
 * The REST contract of task-api. Requests are parsed with these schemas and the OpenAPI
 * document (http/openapi.ts) is generated from the same ones, so the two cannot disagree.
 */
import { z } from "zod";
import "zod-openapi";

export const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;
export const SORT_KEYS = ["dueAt", "priority", "createdAt", "updatedAt", "title"] as const;

const id = z.uuid().meta({
  description: "A UUID (v7 for ids taskmesh creates).",
  examples: ["01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f"],
});
// PostgreSQL timestamps here run from year 1 to 9999; a day's margin keeps the start of a date in any time zone inside.
const EARLIEST = Date.parse("0001-01-02T00:00:00Z");
const LATEST = Date.parse("9999-12-31T00:00:00Z");
const inRange = (value: string): boolean => {
  const t = Date.parse(value);
  return t >= EARLIEST && t < LATEST;
};
const RANGE = "must be between 0001-01-02 and 9999-12-30";
const instant = z.iso
  .datetime({ offset: true })
  .refine(inRange, RANGE)
  .meta({ description: "RFC 3339 date-time with offset.", examples: ["2026-12-01T09:00:00Z"] });
const instantOut = z.iso.datetime().meta({ description: "RFC 3339 date-time in UTC." });
// PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing the INSERT with a 500.
const noNul = (s: string): boolean => !s.includes("\u0000");
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
const priority = z.enum(PRIORITIES).meta({ id: "Priority" });
const tagName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(50)
  .regex(/^[^,\p{Cc}]+$/u, "must not contain commas or control characters")
  .meta({ description: "Tag name, 1-50 characters; unique per user ignoring case." });
const dueAt = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .refine(inRange, RANGE)
  .meta({
    description: "An instant, or a calendar date (YYYY-MM-DD) for an all-day task in your time zone.",
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
export const updateTaskBody = z
  .strictObject({ title, ...taskFields })
  .partial()
  .meta({ id: "UpdateTask", description: "JSON merge patch: absent fields stay, null clears." });

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
    return terms as { key: (typeof SORT_KEYS)[number]; desc: boolean }[];
  })
  .meta({
    description: `Comma-separated keys of ${SORT_KEYS.join(", ")}; '-' for descending. Ties break on id. Default: dueAt (undated last), or relevance with q.`,
    examples: ["-priority,dueAt"],
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

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      nextCursor: z
        .string()
        .nullable()
        .meta({ description: "Pass as ?cursor= for the next page; null on the last page." }),
    })
    .meta({ id: name });
}

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(500).optional(),
});

export const idParams = z.object({ id: z.string().meta({ description: "Resource id." }) });

// ---- task history (read from audit-log) ----------------------------------

export const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(500).optional().meta({ description: "nextCursor of the previous page." }),
});

export const historyEntrySchema = z
  .object({
    eventId: z.string().meta({ description: "The task event this entry records (its CloudEvent id)." }),
    type: z.string().meta({
      description: "The event type, e.g. dev.taskmesh.task.updated.v1.",
      examples: ["dev.taskmesh.task.updated.v1"],
    }),
    sequence: z
      .number()
      .int()
      .meta({ description: "The task's version after the change; entries come in this order." }),
    occurredAt: instantOut.meta({ description: "When the change was committed." }),
    actor: z
      .object({
        kind: z.enum(["user", "service"]),
        id: z.string().meta({ description: "A user id, or the app id of a service acting for the user." }),
      })
      .meta({ id: "Actor", description: "Who made the change." }),
    changes: z
      .record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }))
      .meta({ description: "Changed fields by name, each from -> to; empty for a creation." }),
  })
  .meta({ id: "HistoryEntry" });

export const historyPageSchema = z
  .object({
    items: z.array(historyEntrySchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: "Pass as ?cursor= for the next page; null on the last page." }),
  })
  .meta({ id: "TaskHistory" });

// ---- lists, tags, me -----------------------------------------------------

const listName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(100)
  .refine(noNul, "must not contain NUL characters");
export const createListBody = z.strictObject({ name: listName }).meta({ id: "CreateList" });
export const updateListBody = z.strictObject({ name: listName }).partial().meta({ id: "UpdateList" });
export const listSchema = z
  .object({
    id,
    name: z.string(),
    openTaskCount: z.number().int(),
    createdAt: instantOut,
    updatedAt: instantOut,
    version: z.number().int(),
  })
  .meta({ id: "List" });

export const tagSchema = z
  .object({ id, name: z.string(), openTaskCount: z.number().int() })
  .meta({ id: "Tag" });

export const meSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.email(),
    emailVerified: z.boolean(),
    image: z.string().nullable(),
    timeZone: z.string().meta({
      description: "IANA time zone for all-day dates and recurrences.",
      examples: ["Europe/Berlin"],
    }),
    createdAt: instantOut,
    updatedAt: instantOut,
  })
  .meta({ id: "Me" });
/** A person's display name, the same rule at sign-up (auth/auth.ts) and in PATCH /v1/me. */
export const personName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(100)
  .refine(noNul, "must not contain NUL characters");
export const updateMeBody = z
  .strictObject({ name: personName, timeZone: z.string().min(1).max(64) })
  .partial()
  .meta({ id: "UpdateMe" });

// ---- headers ---------------------------------------------------------------

export const ifMatchHeader = z.object({
  "if-match": z
    .string()
    .optional()
    .meta({ description: "The ETag you last saw; 412 if the resource changed since.", examples: ['"3"'] }),
});
export const idempotencyHeader = z.object({
  "idempotency-key": z.string().optional().meta({
    description:
      "Retries with the same key and body replay the first response for 24 h; another body is 422.",
  }),
});
