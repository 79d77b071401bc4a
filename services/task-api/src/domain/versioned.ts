import { NotFoundError, PreconditionFailedError } from "@taskmesh/core";
import type { Repositories, Store, UnitOfWork } from "./ports.ts";
import { userActor, type Actor } from "./task-events.ts";

/**
 * A task or list locked for a write (`locked` is its repository's lock, SELECT ... FOR UPDATE):
 * NotFound when there is none, PreconditionFailed when the client's If-Match names another version.
 */
export async function lockedAt<R extends { version: number }>(
  what: "task" | "list",
  locked: Promise<R | undefined>,
  expectedVersion: number | undefined,
): Promise<R> {
  const record = await locked;
  if (!record) throw new NotFoundError(what === "task" ? "Task" : "List");
  if (expectedVersion !== undefined && record.version !== expectedVersion) {
    throw new PreconditionFailedError(
      `The ${what} is at version ${record.version}, not ${expectedVersion}: fetch it again and reapply the change.`,
      { extensions: { currentVersion: record.version } },
    );
  }
  return record;
}

/** Who writes to which task or list. */
export interface WriteTarget {
  userId: string;
  id: string;
  actor: Actor;
}

/**
 * A use case that writes to one task or list: it runs in `within` (default its own transaction;
 * an idempotent POST passes the unit of work that records its response), locks the record and
 * checks its version (lockedAt), then runs `write` with it.
 */
export function versionedWrite<R extends { version: number }, T>(
  what: "task" | "list",
  store: Store,
  lock: (repos: Repositories, userId: string, id: string) => Promise<R | undefined>,
  write: (repos: Repositories, current: R, target: WriteTarget) => Promise<T>,
) {
  return (
    userId: string,
    id: string,
    expectedVersion?: number,
    actor: Actor = userActor(userId),
    within: UnitOfWork = store.transaction,
  ): Promise<T> =>
    within(async (repos) => {
      const current = await lockedAt(what, lock(repos, userId, id), expectedVersion);
      return write(repos, current, { userId, id, actor });
    });
}
