import type { OutboxMessage } from "../domain/ports.ts";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";
import type { Tx } from "./database.ts";

export type { OutboxMessage };

/** One statement for any number of events (ids are UUIDv7: the relay publishes in id order). */
export async function appendToOutbox(tx: Tx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO outbox_events (id, topic, type, partition_key, data)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    messages.map(() => uuidv7()),
    messages.map((m) => m.topic),
    messages.map((m) => m.type),
    messages.map((m) => m.partitionKey),
    messages.map((m) => JSON.stringify(m.data)),
  );
}

/** A pending outbox row, as the relay claims it. */
export interface OutboxRow {
  id: string;
  topic: string;
  type: string;
  partitionKey: string;
  data: unknown;
  createdAt: Date;
  /** Failed publishing attempts so far. */
  attempts: number;
}

/** A connection with a transaction open on it (the relay's claim lives as long as that transaction). */
export type OutboxConnection = Pick<pg.PoolClient, "query">;

interface OutboxRecord {
  id: string;
  topic: string;
  type: string;
  partition_key: string;
  data: unknown;
  created_at: Date;
  attempts: number;
}

/**
 * Claims up to `limit` rows that may be published now, oldest first, and returns how many it
 * claimed and, in id order, those whose turn it is: a row is held back while an older row with the same partition key is
 * still pending anywhere (claimed by another relay, waiting out its backoff, or simply not
 * in this claim). Call inside a transaction; the rows stay locked until it ends.
 *
 * Why this keeps each key in order with any number of relays:
 * - `FOR UPDATE SKIP LOCKED` gives each relay rows no other relay holds, so no row is
 *   published by two relays at once.
 * - A relay that skipped a locked row may have claimed a newer row of the same key. The
 *   second statement (a fresh snapshot, taken after the claim) still sees the older row,
 *   because a relay deletes a row only in the transaction that publishes it, and so holds the
 *   newer row back. A row that no longer exists was published (and committed) already.
 * - Rows of one key commit in id order: every change to a task locks the task's row, and
 *   its events are numbered after the lock is held.
 * The blocking rows all have ids below the newest claimed one, so the check is a primary-key
 * range scan of about one batch, not a scan of the backlog.
 */
export async function claimOutboxRows(
  connection: OutboxConnection,
  limit: number,
): Promise<{ claimed: number; rows: OutboxRow[] }> {
  const claimed = (
    await connection.query<OutboxRecord>(
      `SELECT id, topic, type, partition_key, data, created_at, attempts
       FROM outbox_events
       WHERE available_at <= now()
       ORDER BY id
       LIMIT $1
       FOR UPDATE SKIP LOCKED`,
      [limit],
    )
  ).rows;
  if (claimed.length === 0) return { claimed: 0, rows: [] };
  const ids = claimed.map((row) => row.id);
  const newest = ids.reduce((a, b) => (a > b ? a : b));
  const blockers = (
    await connection.query<{ partition_key: string; first: string }>(
      `SELECT DISTINCT ON (partition_key) partition_key, id AS first
       FROM outbox_events
       WHERE id < $1::uuid AND NOT (id = ANY($2::uuid[])) AND partition_key = ANY($3::text[])
       ORDER BY partition_key, id`,
      [newest, ids, [...new Set(claimed.map((row) => row.partition_key))]],
    )
  ).rows;
  const firstBlocked = new Map(blockers.map((b) => [b.partition_key, b.first]));
  const rows = claimed
    .filter((row) => {
      const blocker = firstBlocked.get(row.partition_key);
      return blocker === undefined || row.id < blocker;
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((row) => ({
      id: row.id,
      topic: row.topic,
      type: row.type,
      partitionKey: row.partition_key,
      data: row.data,
      createdAt: row.created_at,
      attempts: row.attempts,
    }));
  return { claimed: claimed.length, rows };
}

/** A row that could not be published this time, and how long it waits before the next try. */
export interface OutboxFailure {
  id: string;
  error: string;
  retryInMs: number;
}

/**
 * Records the outcome of publishing claimed rows, in the claim's transaction: published rows
 * are deleted, failed ones count an attempt and wait out their backoff.
 */
export async function settleOutboxRows(
  connection: OutboxConnection,
  publishedIds: readonly string[],
  failures: readonly OutboxFailure[],
): Promise<void> {
  if (publishedIds.length > 0) {
    await connection.query(`DELETE FROM outbox_events WHERE id = ANY($1::uuid[])`, [publishedIds]);
  }
  if (failures.length > 0) {
    await connection.query(
      `UPDATE outbox_events o
       SET attempts = o.attempts + 1,
           last_error = f.error,
           available_at = now() + f.retry_in_ms * interval '1 millisecond'
       FROM unnest($1::uuid[], $2::text[], $3::int[]) AS f(id, error, retry_in_ms)
       WHERE o.id = f.id`,
      [
        failures.map((f) => f.id),
        failures.map((f) => f.error.slice(0, 2000)),
        failures.map((f) => f.retryInMs),
      ],
    );
  }
}

/** Pending rows and the age of the oldest one (seconds; 0 when there are none). */
export async function outboxBacklog(
  connection: OutboxConnection,
): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const [row] = (
    await connection.query<{ pending: string; oldest_age: number | null }>(
      `SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest_age
       FROM outbox_events`,
    )
  ).rows;
  return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: Math.max(0, row?.oldest_age ?? 0) };
}
