import { NotFoundError } from "@taskmesh/core";
import type { Store, TaskHistory, TaskHistoryPage } from "./ports.ts";

export type ReadTaskHistory = (
  userId: string,
  taskId: string,
  page: { cursor: string | undefined; limit: number },
) => Promise<TaskHistoryPage>;

/**
 * A task's history, for its owner only (audit-log filters by owner). A deleted task's history
 * stays readable through its id; a task with no history that is not one of the user's tasks
 * (never was, or another user's) is 404. A task of theirs whose first event audit-log has not
 * recorded yet has an empty history.
 */
export function createReadTaskHistory(store: Store, history: TaskHistory): ReadTaskHistory {
  return async (userId, taskId, page) => {
    const result = await history.read({ userId, taskId, cursor: page.cursor, limit: page.limit });
    if (result.data.length === 0 && page.cursor === undefined) {
      if (!(await store.read.tasks.findView(userId, taskId))) throw new NotFoundError("Task");
    }
    return result;
  };
}
