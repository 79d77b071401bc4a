import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { expectedVersion, id, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const reopenTaskTool = defineTool({
  name: "reopen_task",
  title: "Reopen a task",
  description: "Marks a completed task open again.",
  input: toolArgs({ id, expectedVersion }),
  output: z.object({ task: taskOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ id: taskId, expectedVersion: version }, { taskApi }) {
    const task = await taskApi.reopenTask(taskId, version);
    return success(`Reopened ${taskLine(task)}.`, { task: fullTask(task) });
  },
});
