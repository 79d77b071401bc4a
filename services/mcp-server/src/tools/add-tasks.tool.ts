import { z } from "zod";
import { batchResult, callsPerItem, MAX_BATCH, runBatch } from "../mcp/batch.ts";
import { batchOutput, newTaskInput } from "../mcp/task.schemas.ts";
import { fullTask, toTaskBody } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const addTasksTool = defineTool({
  name: "add_tasks",
  title: "Add many tasks",
  description: `Creates up to ${MAX_BATCH} tasks in one call (same fields as add_task). Each item is reported by its index: created task or error. With idempotencyKey, a retry creates no duplicates (item i uses key + ':' + i).`,
  input: toolArgs({
    tasks: z.array(toolArgs(newTaskInput.shape)).min(1).max(MAX_BATCH),
    idempotencyKey: z.string().min(1).max(180).optional(),
  }),
  output: batchOutput,
  taskApiCalls: callsPerItem("tasks"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run({ tasks, idempotencyKey }, { taskApi }) {
    const indexed = tasks.map((task, index) => ({ task, index }));
    const outcomes = await runBatch(indexed, async ({ task, index }) =>
      fullTask(await taskApi.createTask(toTaskBody(task), idempotencyKey && `${idempotencyKey}:${index}`)),
    );
    return batchResult("Created", outcomes);
  },
});
