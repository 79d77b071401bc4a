import { z } from "zod";
import { InvalidError } from "@taskmesh/core";
import { success } from "../mcp/tool-result.ts";
import { expectedVersion, id, taskChanges, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine, toTaskBody } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const updateTaskTool = defineTool({
  name: "update_task",
  title: "Update a task",
  description:
    "Changes the given fields of a task; fields you leave out stay, null clears a field. To complete or reopen use complete_task / reopen_task.",
  input: toolArgs({ id, expectedVersion, changes: toolArgs(taskChanges.shape) }),
  output: z.object({ task: taskOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ id: taskId, expectedVersion: version, changes }, { taskApi }) {
    const body = toTaskBody(changes);
    if (Object.keys(body).length === 0) {
      throw new InvalidError("changes names no field to change", [
        { pointer: "/changes", in: "body", detail: "give at least one field" },
      ]);
    }
    const task = await taskApi.updateTask(taskId, body, version);
    return success(`Updated ${taskLine(task)}.`, { task: fullTask(task) });
  },
});
