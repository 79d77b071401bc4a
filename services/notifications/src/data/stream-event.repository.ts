import type { TaskmeshEvent } from "@taskmesh/contracts";
import { isUuid } from "@taskmesh/core";
import type pg from "pg";

/** The channel every replica LISTENs on; the payload is the user id whose stream has news. */
export const STREAM_CHANNEL = "notifications_stream_events";

/** An event stored for the live stream; `position` is the SSE id (a bigint, as text). */
export interface StoredStreamEvent {
  position: string;
  event: TaskmeshEvent;
}

type Queryable = Pick<pg.PoolClient, "query">;

// Any constant: the lock only orders stream inserts among themselves.
const APPEND_LOCK = 7_214_306_001;

/**
 * Stores an event for its owner's live streams, once per CloudEvent id, and notifies every
 * replica at commit. Call inside a transaction and commit soon after: the transaction-level
 * lock makes positions commit in the order they were taken, so a reader that has seen
 * position N has seen everything below N ("after Last-Event-ID" is an exact range).
 * Returns false when the event was already stored (a redelivery).
 */
export async function appendStreamEvent(
  db: Queryable,
  userId: string,
  event: TaskmeshEvent,
): Promise<boolean> {
  await db.query("SELECT pg_advisory_xact_lock($1)", [APPEND_LOCK]);
  const inserted = await db.query(
    `INSERT INTO stream_events (event_id, user_id, type, event) VALUES ($1, $2, $3, $4)
     ON CONFLICT (event_id) DO NOTHING RETURNING position`,
    [event.id, userId, event.type, JSON.stringify(event)],
  );
  if (inserted.rowCount === 0) return false;
  await db.query("SELECT pg_notify($1, $2)", [STREAM_CHANNEL, userId]);
  return true;
}

/** The user's events after `after` (exclusive), oldest first. */
export async function streamEventsAfter(
  db: Queryable,
  userId: string,
  after: bigint,
  limit: number,
): Promise<StoredStreamEvent[]> {
  // user_id is a uuid: any other string names no user (and would fail the cast with a 500).
  if (!isUuid(userId)) return [];
  const result = await db.query<{ position: string; event: TaskmeshEvent }>(
    `SELECT position::text AS position, event FROM stream_events
     WHERE user_id = $1 AND position > $2 ORDER BY position LIMIT $3`,
    [userId, after.toString(), limit],
  );
  return result.rows;
}

/** The newest position of the user's events (0 when none): a new stream starts after it. */
export async function latestStreamPosition(db: Queryable, userId: string): Promise<bigint> {
  if (!isUuid(userId)) return 0n;
  const result = await db.query<{ position: string | null }>(
    "SELECT max(position)::text AS position FROM stream_events WHERE user_id = $1",
    [userId],
  );
  return BigInt(result.rows[0]?.position ?? "0");
}

/** Retention: deletes events stored before `before`; returns how many. */
export async function deleteStreamEventsBefore(db: Queryable, before: Date): Promise<number> {
  const result = await db.query("DELETE FROM stream_events WHERE created_at < $1", [before]);
  return result.rowCount ?? 0;
}
