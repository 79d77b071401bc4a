import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { cursor, id, listEntryOutput, pageMeta, PRIORITIES, SORT_KEYS } from "../mcp/task.schemas.ts";
import { compactTask, fullTask } from "../mcp/task.view.ts";
import { defineTool, READ_ONLY, toolArgs } from "./tool.ts";

const date = z.string().max(40);
const sortTerm = z
  .string()
  .regex(new RegExp(`^-?(${SORT_KEYS.join("|")})$`))
  .describe(`One of ${SORT_KEYS.join(", ")}; prefix '-' for descending.`);

// Every argument has its name in GET /v1/tasks (tag, q); only detail is this tool's own.
export const listTasksInput = toolArgs({
  status: z.enum(["open", "completed", "all"]).default("open"),
  priority: z.array(z.enum(PRIORITIES)).min(1).max(5).optional().describe("Any of these priorities."),
  tag: z
    .array(z.string().min(1).max(50))
    .min(1)
    .max(20)
    .optional()
    .describe("Tasks with any of these tags (all of them with tagMatch)."),
  tagMatch: z
    .enum(["any", "all"])
    .optional()
    .describe("Whether a task needs any (default) or all of the tags."),
  listId: z
    .union([id, z.literal("none")])
    .optional()
    .describe("A list id, or 'none' for tasks in no list."),
  parentId: z
    .union([id, z.literal("none")])
    .optional()
    .describe("A task id for its subtasks, or 'none' for top-level tasks."),
  dueBefore: date
    .optional()
    .describe("Due before this date (YYYY-MM-DD, start of day in the user's zone) or instant."),
  dueAfter: date.optional().describe("Due at or after this date or instant."),
  overdue: z
    .boolean()
    .optional()
    .describe("Only open tasks past their due time (true) or none of them (false)."),
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("Full-text search of title and description; results ranked by relevance."),
  sort: z
    .array(sortTerm)
    .min(1)
    .max(5)
    .optional()
    .describe("Default: dueAt (undated last), or relevance with q."),
  limit: z.number().int().min(1).max(100).default(20),
  cursor: cursor.optional(),
  detail: z
    .enum(["compact", "full"])
    .default("compact")
    .describe("compact: the fields to pick a task (default); full: every field, as get_task."),
});

/** The tool's arguments as task-api's GET /v1/tasks query (the REST parameter names). */
export function toTaskQuery(args: z.infer<typeof listTasksInput>): URLSearchParams {
  const query = new URLSearchParams({ status: args.status, limit: String(args.limit) });
  if (args.priority) query.set("priority", args.priority.join(","));
  for (const tag of args.tag ?? []) query.append("tag", tag);
  if (args.tagMatch) query.set("tagMatch", args.tagMatch);
  if (args.listId) query.set("listId", args.listId);
  if (args.parentId) query.set("parentId", args.parentId);
  if (args.dueBefore) query.set("dueBefore", args.dueBefore);
  if (args.dueAfter) query.set("dueAfter", args.dueAfter);
  if (args.overdue !== undefined) query.set("overdue", String(args.overdue));
  if (args.q) query.set("q", args.q);
  if (args.sort) query.set("sort", args.sort.join(","));
  if (args.cursor) query.set("cursor", args.cursor);
  return query;
}

export const listTasksTool = defineTool({
  name: "list_tasks",
  title: "List tasks",
  description:
    "Lists the user's tasks with filters (status, priority, tags, list, subtasks, due range, overdue, text search q), sort and paging. Open tasks by due date by default, 20 per page; pass nextCursor as cursor for more.",
  input: listTasksInput,
  output: z.object({ tasks: z.array(listEntryOutput), count: z.number().int(), ...pageMeta }),
  annotations: READ_ONLY,
  async run(args, { taskApi }) {
    const page = await taskApi.listTasks(toTaskQuery(args));
    const tasks = page.data.map((t) =>
      args.detail === "full" ? { ...compactTask(t), ...fullTask(t) } : compactTask(t),
    );
    const more = page.nextCursor ? " More match: call again with cursor = nextCursor." : "";
    return success(`${tasks.length} task(s).${more}`, {
      tasks,
      count: tasks.length,
      nextCursor: page.nextCursor,
    });
  },
});
