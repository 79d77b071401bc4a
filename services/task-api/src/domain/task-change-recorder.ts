import { txSql, type Tx } from "../data/database.ts";
import { appendToOutbox } from "../data/outbox.repository.ts";
import { findTaskViews, type TaskView } from "../data/task.repository.ts";
import { taskChangeEvents, type Actor } from "./task-events.ts";

/**
 * Runs a change to some of a user's tasks and, in the same transaction, writes one outbox
 * event per task it touched (the transactional outbox: no change commits without its
 * events, no event without its change). `watched` are the tasks the change may touch;
 * `change` returns the ids of tasks it created. Returns the tasks as they are afterwards.
 */
export async function recordTaskChanges(
  tx: Tx,
  userId: string,
  actor: Actor,
  watched: readonly (string | null | undefined)[],
  change: () => Promise<string[] | undefined>,
  occurredAt: Date,
): Promise<Map<string, TaskView>> {
  const sql = txSql(tx);
  const ids = [...new Set(watched.filter((id): id is string => typeof id === "string"))];
  const before = await findTaskViews(sql, userId, ids);
  const created = (await change()) ?? [];
  const after = await findTaskViews(sql, userId, [...ids, ...created]);
  await appendToOutbox(tx, taskChangeEvents(userId, actor, before, after, occurredAt));
  return new Map(after.map((task) => [task.id, task]));
}
