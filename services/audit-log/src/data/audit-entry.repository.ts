import { databaseSqlState, isUuid } from "@taskmesh/core";
import type pg from "pg";
import type {
  AppendOutcome,
  AuditEntry,
  AuditEntryStore,
  HistoryEntry,
  HistoryPage,
  PurgeOutcome,
} from "../domain/audit-entry.ts";

/**
 * One statement for the whole batch, and no read before it: the primary key (event_id) decides
 * what is new, so concurrent deliveries of the same event (two replicas, a redelivery racing the
 * first try) still record it once. RETURNING names the rows this statement inserted.
 */
const APPEND_SQL = `
INSERT INTO audit_entries (event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at)
SELECT * FROM unnest(
  $1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::varchar[],
  $6::jsonb[], $7::jsonb[], $8::jsonb[], $9::timestamptz[]
) AS e(event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at)
WHERE NOT EXISTS (SELECT 1 FROM audit_deleted_users d WHERE d.user_id = e.user_id)
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id`;

/** Which of the given users are tombstoned (asked only when some entries were not inserted). */
const PURGED_SQL = `SELECT user_id FROM audit_deleted_users WHERE user_id = ANY($1::uuid[])`;

/**
 * A purge waits for appends in flight and holds new ones back until it commits (SHARE ROW
 * EXCLUSIVE conflicts with the ROW EXCLUSIVE lock every INSERT takes, and with itself, so two
 * purges do not deadlock). An INSERT that waited takes its snapshot after the lock is granted,
 * so it sees the tombstone; one that ran before is committed and so deleted here. Without the
 * lock, an append racing the purge could commit an entry the DELETE never saw. History reads
 * (ACCESS SHARE) are not blocked. Deletions are rare; the hold is one DELETE long.
 */
const PURGE_SQL = {
  lock: `LOCK TABLE audit_entries IN SHARE ROW EXCLUSIVE MODE`,
  tombstone: `INSERT INTO audit_deleted_users (user_id, deleted_at) VALUES ($1, $2)
              ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
  delete: `DELETE FROM audit_entries WHERE user_id = $1`,
};

/** A page plus one row (tells whether there is a next page), in (sequence, event_id) order. */
const HISTORY_SQL = `
SELECT event_id, type, sequence, occurred_at, actor, changes
FROM audit_entries
WHERE user_id = $1 AND task_id = $2::uuid
  AND ($3::int IS NULL OR (sequence, event_id) > ($3::int, $4::uuid))
ORDER BY sequence, event_id
LIMIT $5`;

interface HistoryRow {
  event_id: string;
  type: string;
  sequence: number;
  occurred_at: Date;
  actor: unknown;
  changes: unknown;
}

/**
 * SQLSTATE classes that say the row itself is unacceptable (22 data exception: a value out of
 * range, a NUL in JSON...; 23 integrity constraint violation): retrying the same row cannot help.
 */
function rowRejected(err: unknown): boolean {
  const state = databaseSqlState(err);
  return state !== undefined && (state.startsWith("22") || state.startsWith("23"));
}

/**
 * audit_entries through node-postgres rather than Prisma: the insert is on every delivery's
 * path, and the same statement costs about a third of the CPU through a plain pool
 * (scripts/bench/events.ts measured 200-260 µs against 570-730 µs).
 */
export function createAuditEntryRepository(pool: pg.Pool): AuditEntryStore {
  async function insert(entries: readonly AuditEntry[]): Promise<Set<string>> {
    const { rows } = await pool.query<{ event_id: string }>(APPEND_SQL, [
      entries.map((e) => e.eventId),
      entries.map((e) => e.taskId),
      entries.map((e) => e.userId),
      entries.map((e) => e.sequence),
      entries.map((e) => e.type),
      entries.map((e) => JSON.stringify(e.actor)),
      entries.map((e) => JSON.stringify(e.changes)),
      entries.map((e) => JSON.stringify(e.task)),
      entries.map((e) => e.occurredAt.toISOString()),
    ]);
    return new Set(rows.map((r) => r.event_id));
  }

  /** Users of the entries not inserted that are tombstoned (none asked when all went in). */
  async function purgedUsers(entries: readonly AuditEntry[], inserted: Set<string>): Promise<Set<string>> {
    const missing = [...new Set(entries.filter((e) => !inserted.has(e.eventId)).map((e) => e.userId))];
    if (missing.length === 0) return new Set();
    const { rows } = await pool.query<{ user_id: string }>(PURGED_SQL, [missing]);
    return new Set(rows.map((r) => r.user_id));
  }

  async function append(entries: readonly AuditEntry[]): Promise<AppendOutcome[]> {
    try {
      const inserted = await insert(entries);
      const purged = await purgedUsers(entries, inserted);
      return entries.map((e) => ({
        // The database answers UUIDs in lower case; the contract takes either.
        status: inserted.has(e.eventId)
          ? "recorded"
          : purged.has(e.userId.toLowerCase())
            ? "purged"
            : "duplicate",
      }));
    } catch (err) {
      if (!rowRejected(err)) throw err;
      if (entries.length === 1) {
        return [{ status: "rejected", reason: err instanceof Error ? err.message : String(err) }];
      }
    }
    // One bad row failed the whole statement: find it by offering each row on its own, so
    // the good ones are recorded and only the bad one is refused.
    const outcomes: AppendOutcome[] = [];
    for (const entry of entries) outcomes.push(...(await append([entry])));
    return outcomes;
  }

  async function purgeUser(userId: string, deletedAt: Date): Promise<PurgeOutcome> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      await client.query(PURGE_SQL.lock);
      const tombstone = await client.query(PURGE_SQL.tombstone, [userId, deletedAt.toISOString()]);
      const deleted = await client.query(PURGE_SQL.delete, [userId]);
      await client.query("COMMIT");
      return {
        status: tombstone.rowCount === 0 ? "already-purged" : "purged",
        deleted: deleted.rowCount ?? 0,
      };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      if (rowRejected(err))
        return { status: "rejected", reason: err instanceof Error ? err.message : String(err) };
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(broken);
    }
  }

  return {
    append,
    purgeUser,

    async history({ userId, taskId, after, limit }): Promise<HistoryPage> {
      // user_id is a uuid: any other string names no user, whose history is empty.
      if (!isUuid(userId)) return { data: [], next: undefined };
      const { rows } = await pool.query<HistoryRow>(HISTORY_SQL, [
        userId,
        taskId,
        after?.sequence ?? null,
        after?.eventId ?? null,
        limit + 1,
      ]);
      const data: HistoryEntry[] = rows.slice(0, limit).map((r) => ({
        eventId: r.event_id,
        type: r.type,
        sequence: r.sequence,
        occurredAt: r.occurred_at,
        actor: r.actor,
        changes: r.changes,
      }));
      const last = data.at(-1);
      return {
        data,
        next: rows.length > limit && last ? { sequence: last.sequence, eventId: last.eventId } : undefined,
      };
    },
  };
}
