import { NotFoundError, PreconditionFailedError } from "@taskmesh/core";

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
