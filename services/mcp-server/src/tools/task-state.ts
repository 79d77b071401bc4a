import { z } from "zod";
import type { Task, TaskApi } from "../data/task-api.client.ts";
import { success } from "../mcp/tool-result.ts";
import { expectedVersion, id, taskOutput } from "../mcp/task.schemas.ts";
import { fullTask, taskLine } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

/**
 * complete_task and reopen_task: one task marked completed or open (at its expected version, if
 * given), answered as it is afterwards. Idempotent: task-api answers a task already so as it is.
 */
export function taskStateTool(tool: {
  name: string;
  title: string;
  description: string;
  /** The answer's first word: "Completed", "Reopened". */
  done: string;
  call: (taskApi: TaskApi, id: string, expectedVersion: number | undefined) => Promise<Task>;
}) {
  return defineTool({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    input: toolArgs({ id, expectedVersion }),
    output: z.object({ task: taskOutput }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run({ id: taskId, expectedVersion: version }, { taskApi }) {
      const task = await tool.call(taskApi, taskId, version);
      return success(`${tool.done} ${taskLine(task)}.`, { task: fullTask(task) });
    },
  });
}
