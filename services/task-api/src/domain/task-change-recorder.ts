import type { Repositories, TaskView } from "./ports.ts";
import { taskChangeEvents, type Actor } from "./task-events.ts";

/**
 * Runs a change to some of a user's tasks and, in the same transaction, writes one outbox
 * event per task it touched (the transactional outbox: no change commits without its
 * events, no event without its change). `watched` are the tasks the change may touch;
 * `change` returns the ids of tasks it created, if any. Returns the tasks as they are afterwards.
 */
export async function recordTaskChanges(
  repos: Repositories,
  userId: string,
  actor: Actor,
  watched: readonly (string | null | undefined)[],
  occurredAt: Date,
  change: () => Promise<string[]> | Promise<void>,
): Promise<Map<string, TaskView>> {
  const ids = [...new Set(watched.filter((id): id is string => typeof id === "string"))];
  const before = await repos.tasks.findViews(userId, ids);
  const created = (await change()) ?? [];
  const after = await repos.tasks.findViews(userId, [...ids, ...created]);
  await repos.outbox.append(taskChangeEvents(userId, actor, before, after, occurredAt));
  return new Map(after.map((task) => [task.id, task]));
}
