import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { cursor, historyEntryOutput, id, pageMeta } from "../mcp/task.schemas.ts";
import { defineTool, READ_ONLY, toolArgs } from "./tool.ts";

export const getTaskHistoryTool = defineTool({
  name: "get_task_history",
  title: "Get a task's history",
  description:
    "Lists the changes made to a task, oldest first: who (the user or a service acting for them), when, and each changed field from -> to. Also works for deleted tasks.",
  input: toolArgs({ id, limit: z.number().int().min(1).max(100).default(20), cursor: cursor.optional() }),
  output: z.object({
    taskId: z.string(),
    entries: z.array(historyEntryOutput),
    ...pageMeta,
  }),
  annotations: READ_ONLY,
  async run({ id: taskId, limit, cursor: after }, { taskApi }) {
    const page = await taskApi.taskHistory(taskId, after, limit);
    const entries = page.data.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      sequence: e.sequence,
      occurredAt: e.occurredAt,
      actor: e.actor,
      changes: e.changes,
    }));
    const more = page.nextCursor ? " More exist: call again with cursor = nextCursor." : "";
    return success(`${entries.length} change(s) of task ${taskId}.${more}`, {
      taskId,
      entries,
      nextCursor: page.nextCursor,
    });
  },
});
