import { isUuid } from "@taskmesh/core";
import type pg from "pg";
import { withTransaction } from "./transaction.ts";

/** The channel every replica LISTENs on for deleted accounts; the payload is the user id. */
export const USER_DELETED_CHANNEL = "notifications_user_deleted";

type Queryable = Pick<pg.PoolClient, "query">;

/**
 * The first key of the per-user advisory lock (two-int form: its own key space, apart from the
 * stream's one-key append lock). Event handling holds it shared for the event's user, a purge
 * holds it exclusively: a purge waits for events of the user in flight, and an event that waited
 * for a purge sees its tombstone (its next statement takes a fresh snapshot).
 */
const USER_LOCK_CLASS = 72_143_060;

/**
 * Holds the user's lock (shared) until the transaction ends and answers whether the account
 * was deleted. Call first in an event's transaction: when it answers true, store nothing.
 */
export async function lockLiveUser(db: Queryable, userId: string): Promise<boolean> {
  await db.query("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))", [USER_LOCK_CLASS, userId]);
  return !(await isDeletedUser(db, userId));
}

/** Whether the account was deleted (a tombstone exists). */
export async function isDeletedUser(db: Queryable, userId: string): Promise<boolean> {
  // user_id is a uuid: any other string names no user, so no deleted one either.
  if (!isUuid(userId)) return false;
  const result = await db.query("SELECT 1 FROM notification_deleted_users WHERE user_id = $1", [userId]);
  return (result.rowCount ?? 0) > 0;
}

/** What one purge deleted, per table (all 0 for a user purged before). */
export interface PurgedRows {
  alreadyPurged: boolean;
  webhooks: number;
  webhookDeliveries: number;
  reminders: number;
  streamEvents: number;
  streamTickets: number;
}

/**
 * Deletes everything notifications keeps for a deleted account (webhooks and their deliveries
 * with the payloads, reminders, stream events, unused stream tickets) and keeps a tombstone, in one transaction under
 * the user's exclusive lock; at commit every replica is told (USER_DELETED_CHANNEL) so it ends
 * the user's open streams. Idempotent: a second purge deletes nothing and keeps the first
 * tombstone (and notifies again, which ends nothing more).
 */
export async function purgeDeletedUser(pool: pg.Pool, userId: string, deletedAt: Date): Promise<PurgedRows> {
  return withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [USER_LOCK_CLASS, userId]);
    const tombstone = await client.query(
      `INSERT INTO notification_deleted_users (user_id, deleted_at) VALUES ($1, $2)
       ON CONFLICT (user_id) DO NOTHING`,
      [userId, deletedAt.toISOString()],
    );
    // Deliveries first (they name the user themselves), then the webhooks (cascading any left).
    const deliveries = await client.query("DELETE FROM webhook_deliveries WHERE user_id = $1", [userId]);
    const webhooks = await client.query("DELETE FROM webhooks WHERE user_id = $1", [userId]);
    const reminders = await client.query("DELETE FROM reminders WHERE user_id = $1", [userId]);
    const streamEvents = await client.query("DELETE FROM stream_events WHERE user_id = $1", [userId]);
    const streamTickets = await client.query("DELETE FROM stream_tickets WHERE user_id = $1", [userId]);
    await client.query("SELECT pg_notify($1, $2)", [USER_DELETED_CHANNEL, userId]);
    return {
      alreadyPurged: tombstone.rowCount === 0,
      webhooks: webhooks.rowCount ?? 0,
      webhookDeliveries: deliveries.rowCount ?? 0,
      reminders: reminders.rowCount ?? 0,
      streamEvents: streamEvents.rowCount ?? 0,
      streamTickets: streamTickets.rowCount ?? 0,
    };
  });
}
