import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { expectedVersion, id, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const completeTaskTool = defineTool({
  name: "complete_task",
  title: "Complete a task",
  description:
    "Marks a task completed. Completing a recurring task makes taskmesh create its next occurrence shortly after.",
  input: toolArgs({ id, expectedVersion }),
  output: z.object({ task: taskOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ id: taskId, expectedVersion: version }, { taskApi }) {
    const task = await taskApi.completeTask(taskId, version);
    return success(`Completed ${taskLine(task)}.`, { task: fullTask(task) });
  },
});
