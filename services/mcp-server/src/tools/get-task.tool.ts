import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { id, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine } from "../mcp/task.view.ts";
import { defineTool, READ_ONLY, toolArgs } from "./tool.ts";

export const getTaskTool = defineTool({
  name: "get_task",
  title: "Get a task",
  description: "Reads one task with all its fields (description, recurrence, reminder, version).",
  input: toolArgs({ id }),
  output: z.object({ task: taskOutput }),
  annotations: READ_ONLY,
  async run({ id: taskId }, { taskApi }) {
    const task = await taskApi.getTask(taskId);
    return success(`Found ${taskLine(task)}.`, { task: fullTask(task) });
  },
});
