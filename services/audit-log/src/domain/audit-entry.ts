import type { Actor, TaskEventType, TaskSnapshot } from "@taskmesh/contracts";

/**
 * One recorded task event: who changed the task (actor), when (occurredAt), what kind of
 * change (type), its place in the task's history (sequence), which fields went from what to
 * what (changes) and the task as it was afterwards. Entries are only ever appended.
 */
export interface AuditEntry {
  /** The CloudEvent id (task-api's outbox row id): the entry's identity, so redelivery records nothing. */
  eventId: string;
  taskId: string;
  /** The task's owner: the only user who may read the entry. */
  userId: string;
  sequence: number;
  type: TaskEventType;
  actor: Actor;
  changes: Record<string, { from: unknown; to: unknown }>;
  task: TaskSnapshot;
  occurredAt: Date;
}

/** What happened to one entry offered to the store. */
export type AppendOutcome =
  | { status: "recorded" }
  /** An entry with this event id was already recorded (a redelivered event). */
  | { status: "duplicate" }
  /** The entry's user was deleted (a tombstone): nothing is recorded for them any more. */
  | { status: "purged" }
  /** The database refuses the entry's data; it never will take it. */
  | { status: "rejected"; reason: string };

/** What a purge did: entries deleted now (0 when the user was tombstoned before), or why it never can. */
export type PurgeOutcome =
  | { status: "purged" | "already-purged"; deleted: number }
  /** The database refuses the user id (a NUL byte...): retrying cannot help. */
  | { status: "rejected"; reason: string };

/** A page of history as the owner reads it. */
export interface HistoryEntry {
  eventId: string;
  type: string;
  sequence: number;
  occurredAt: Date;
  actor: unknown;
  changes: unknown;
}

/** Position after the last entry of a page: entries are ordered by (sequence, eventId). */
export interface HistoryPosition {
  sequence: number;
  eventId: string;
}

export interface HistoryPage {
  data: HistoryEntry[];
  /** Where the next page starts; undefined on the last page. */
  next: HistoryPosition | undefined;
}

/** The port the use cases need; data/audit-entry.repository.ts implements it with node-postgres. */
export interface AuditEntryStore {
  /** Appends entries (ids unique within the call), one outcome per entry in the same order. */
  append(entries: readonly AuditEntry[]): Promise<AppendOutcome[]>;
  /**
   * Deletes every entry of the user and keeps a tombstone, so entries of that user offered
   * later are not recorded (append answers "purged" for them). Idempotent: a second call
   * deletes nothing and keeps the first tombstone.
   */
  purgeUser(userId: string, deletedAt: Date): Promise<PurgeOutcome>;
  history(query: {
    userId: string;
    taskId: string;
    after: HistoryPosition | undefined;
    limit: number;
  }): Promise<HistoryPage>;
}
