import { InvalidError } from "@taskmesh/core";
import { z } from "zod";
import { batchResult, callsPerItem, MAX_BATCH, runBatch } from "../mcp/batch.ts";
import { batchOutput, expectedVersion, id, taskChanges } from "../mcp/task.schemas.ts";
import { fullTask, toTaskBody } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const updateTasksTool = defineTool({
  name: "update_tasks",
  title: "Update many tasks",
  description: `Changes up to ${MAX_BATCH} tasks in one call (each as update_task: absent fields stay, null clears). Each item is reported by its index.`,
  input: toolArgs({
    updates: z
      .array(toolArgs({ id, expectedVersion, changes: toolArgs(taskChanges.shape) }))
      .min(1)
      .max(MAX_BATCH),
  }),
  output: batchOutput,
  taskApiCalls: callsPerItem("updates"),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ updates }, { taskApi }) {
    const outcomes = await runBatch(updates, async (item) => {
      const body = toTaskBody(item.changes);
      if (Object.keys(body).length === 0) {
        throw new InvalidError("changes names no field to change", [
          { pointer: "/changes", in: "body", detail: "give at least one field" },
        ]);
      }
      return fullTask(await taskApi.updateTask(item.id, body, item.expectedVersion));
    });
    return batchResult("Updated", outcomes);
  },
});
