import { addListTool } from "./add-list.tool.ts";
import { addTaskTool } from "./add-task.tool.ts";
import { addTasksTool } from "./add-tasks.tool.ts";
import { completeTaskTool } from "./complete-task.tool.ts";
import { completeTasksTool } from "./complete-tasks.tool.ts";
import { deleteTaskTool } from "./delete-task.tool.ts";
import { getTaskHistoryTool } from "./get-task-history.tool.ts";
import { getTaskTool } from "./get-task.tool.ts";
import { listListsTool } from "./list-lists.tool.ts";
import { listTagsTool } from "./list-tags.tool.ts";
import { listTasksTool } from "./list-tasks.tool.ts";
import { reopenTaskTool } from "./reopen-task.tool.ts";
import { updateTaskTool } from "./update-task.tool.ts";
import { updateTasksTool } from "./update-tasks.tool.ts";
import type { ToolDefinition } from "./tool.ts";

/** Every tool the server offers, in the order tools/list shows them. */
export const TOOLS: readonly ToolDefinition[] = [
  listTasksTool,
  getTaskTool,
  addTaskTool,
  updateTaskTool,
  completeTaskTool,
  reopenTaskTool,
  deleteTaskTool,
  addTasksTool,
  updateTasksTool,
  completeTasksTool,
  getTaskHistoryTool,
  listListsTool,
  addListTool,
  listTagsTool,
];

/** Tools that change data: a read-only token may not call them. */
export const WRITING_TOOLS: ReadonlySet<string> = new Set(
  TOOLS.filter((t) => !t.annotations.readOnlyHint).map((t) => t.name),
);
