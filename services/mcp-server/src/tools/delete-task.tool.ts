import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { expectedVersion, id } from "../mcp/task.schemas.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const deleteTaskTool = defineTool({
  name: "delete_task",
  title: "Delete a task",
  description:
    "Deletes a task for good. Prefer complete_task for work that is done; confirm with the user before deleting.",
  input: toolArgs({ id, expectedVersion }),
  output: z.object({ deleted: z.literal(true), id: z.string() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run({ id: taskId, expectedVersion: version }, { taskApi }) {
    await taskApi.deleteTask(taskId, version);
    return success(`Deleted task ${taskId}.`, { deleted: true, id: taskId });
  },
});
