import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { newTaskInput, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine, toTaskBody } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const addTaskTool = defineTool({
  name: "add_task",
  title: "Add a task",
  description:
    "Creates a task. Give dueAt as YYYY-MM-DD (all-day) or an ISO date-time with offset; resolve natural dates first. Pass the same idempotencyKey when retrying so the task is created only once.",
  input: toolArgs({
    ...newTaskInput.shape,
    idempotencyKey: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("Any unique string; a retry with the same key returns the first result."),
  }),
  output: z.object({ task: taskOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run({ idempotencyKey, ...input }, { taskApi }) {
    const task = await taskApi.createTask(toTaskBody(input), idempotencyKey);
    return success(`Created ${taskLine(task)}.`, { task: fullTask(task) });
  },
});
