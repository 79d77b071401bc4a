import type { UserDeletedEvent } from "@taskmesh/contracts";
import type { AuditEntryStore, PurgeOutcome } from "./audit-entry.ts";

export type PurgeUser = (event: UserDeletedEvent) => Promise<PurgeOutcome>;

/**
 * On user.deleted: the user's whole history goes, and a tombstone stays so that their task
 * events delivered later (task-events is keyed by task, so they can arrive after this event, and
 * any of them can be redelivered) record nothing. Idempotent: a redelivered user.deleted deletes
 * nothing more. Errors of the store (database down) propagate: the sidecar redelivers.
 */
export function createPurgeUser(store: AuditEntryStore): PurgeUser {
  return (event) => store.purgeUser(event.data.userId, new Date(event.data.occurredAt));
}
