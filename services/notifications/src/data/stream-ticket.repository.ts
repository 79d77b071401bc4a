import { createHash } from "node:crypto";
import type pg from "pg";

type Queryable = Pick<pg.Pool, "query">;

const hash = (ticket: string): string => createHash("sha256").update(ticket).digest("hex");

/** Stores a ticket (by its hash) for `userId`, valid until `expiresAt`. */
export async function insertStreamTicket(
  db: Queryable,
  ticket: { value: string; userId: string; expiresAt: Date; tokenExpiresAt?: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO stream_tickets (ticket_hash, user_id, expires_at, token_expires_at) VALUES ($1, $2, $3, $4)`,
    [hash(ticket.value), ticket.userId, ticket.expiresAt, ticket.tokenExpiresAt ?? null],
  );
}

/**
 * Consumes a ticket: deletes it and returns its user, or undefined when it is unknown, used
 * already or expired. One statement, so two replicas racing for the same ticket cannot both win.
 */
export async function consumeStreamTicket(
  db: Queryable,
  ticket: string,
  now: Date,
): Promise<{ userId: string; tokenExpiresAt?: Date } | undefined> {
  const { rows } = await db.query<{ user_id: string; expires_at: Date; token_expires_at: Date | null }>(
    `DELETE FROM stream_tickets WHERE ticket_hash = $1 RETURNING user_id, expires_at, token_expires_at`,
    [hash(ticket)],
  );
  const row = rows[0];
  if (!row || row.expires_at.getTime() <= now.getTime()) return undefined;
  return { userId: row.user_id, ...(row.token_expires_at ? { tokenExpiresAt: row.token_expires_at } : {}) };
}

/** Deletes expired tickets (the retention sweep); returns how many. */
export async function deleteExpiredStreamTickets(db: Queryable, now: Date): Promise<number> {
  const result = await db.query(`DELETE FROM stream_tickets WHERE expires_at <= $1`, [now]);
  return result.rowCount ?? 0;
}
