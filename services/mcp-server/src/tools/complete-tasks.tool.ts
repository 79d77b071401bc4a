import { z } from "zod";
import { batchResult, callsPerItem, MAX_BATCH, runBatch } from "../mcp/batch.ts";
import { batchOutput, expectedVersion, id } from "../mcp/task.schemas.ts";
import { fullTask } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const completeTasksTool = defineTool({
  name: "complete_tasks",
  title: "Complete many tasks",
  description: `Marks up to ${MAX_BATCH} tasks completed in one call. Each item is reported by its index: the completed task or an error.`,
  input: toolArgs({ tasks: z.array(toolArgs({ id, expectedVersion })).min(1).max(MAX_BATCH) }),
  output: batchOutput,
  taskApiCalls: callsPerItem("tasks"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ tasks }, { taskApi }) {
    const outcomes = await runBatch(tasks, async (item) =>
      fullTask(await taskApi.completeTask(item.id, item.expectedVersion)),
    );
    return batchResult("Completed", outcomes);
  },
});
