import type { AuditEntryStore, HistoryPage, HistoryPosition } from "./audit-entry.ts";

export interface HistoryQuery {
  /** Only this user's entries: a task's history is its owner's alone. */
  userId: string;
  taskId: string;
  after?: HistoryPosition | undefined;
  limit: number;
}

export type ReadHistory = (query: HistoryQuery) => Promise<HistoryPage>;

/**
 * A task's history in the order the changes happened (by sequence), one page at a time.
 * Another user's task reads as no history at all, never as an error that would confirm it exists.
 */
export function createReadHistory(store: AuditEntryStore): ReadHistory {
  return (query) =>
    store.history({ userId: query.userId, taskId: query.taskId, after: query.after, limit: query.limit });
}
