import type { PrismaClient } from "@taskmesh/db";
import { v7 as uuidv7 } from "uuid";

/** A delivery claimed for one attempt, with what the attempt needs from its webhook. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  payload: unknown;
  /** Attempts made before this one. */
  attempts: number;
  url: string;
  /** Sealed; open it with the secret box. */
  sealedSecret: string;
  /** The claim: the attempt's result is recorded only while the row still carries it. */
  leaseUntil: Date;
}

export interface QueuedEvent {
  eventId: string;
  eventType: string;
  userId: string;
  /** The CloudEvent as it will be sent. */
  payload: unknown;
}

export type AttemptResult =
  | { outcome: "succeeded"; statusCode: number }
  | { outcome: "retry"; statusCode: number | null; error: string; delayMs: number }
  | { outcome: "failed"; statusCode: number | null; error: string };

export interface WebhookDeliveryRepository {
  /**
   * One pending delivery per webhook of the user subscribed to the event's type; an event
   * already queued for a webhook is skipped (unique webhook_id + event_id). Returns how many
   * rows were inserted.
   */
  enqueue(event: QueuedEvent): Promise<number>;
  /**
   * Claims up to `limit` due deliveries (FOR UPDATE SKIP LOCKED: replicas never claim the same
   * row) by moving their next attempt `leaseMs` ahead: should this replica die mid-attempt, the
   * delivery comes due again when the lease runs out.
   */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  /** Records an attempt; false when the claim was lost (the lease ran out and another replica took it). */
  record(claim: ClaimedDelivery, result: AttemptResult): Promise<boolean>;
  /** Gives a claimed delivery back without counting an attempt (shutdown). */
  release(claim: ClaimedDelivery): Promise<void>;
}

const MAX_ERROR_LENGTH = 500;

interface ClaimRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: unknown;
  attempts: number;
  url: string;
  secret: string;
  next_attempt_at: Date;
}

export function createWebhookDeliveryRepository(prisma: PrismaClient): WebhookDeliveryRepository {
  return {
    async enqueue(event) {
      const webhooks = await prisma.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM webhooks WHERE user_id = $1 AND $2 = ANY(event_types)`,
        event.userId,
        event.eventType,
      );
      if (webhooks.length === 0) return 0;
      // A webhook deleted since the SELECT is skipped by the EXISTS (or, deleted in the same
      // instant, fails the foreign key: the event is retried and finds it gone).
      return prisma.$executeRawUnsafe(
        `INSERT INTO webhook_deliveries (id, webhook_id, user_id, event_id, event_type, payload)
         SELECT u.id, u.webhook_id, $3, $4::uuid, $5, $6::jsonb
         FROM unnest($1::uuid[], $2::uuid[]) AS u(id, webhook_id)
         WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.id = u.webhook_id)
         ON CONFLICT (webhook_id, event_id) DO NOTHING`,
        webhooks.map(() => uuidv7()),
        webhooks.map((w) => w.id),
        event.userId,
        event.eventId,
        event.eventType,
        JSON.stringify(event.payload),
      );
    },

    async claimDue(limit, leaseMs) {
      const rows = await prisma.$queryRawUnsafe<ClaimRow[]>(
        `WITH due AS (
           SELECT id FROM webhook_deliveries
           WHERE status = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED
         )
         UPDATE webhook_deliveries d
         SET next_attempt_at = now() + $2 * interval '1 millisecond'
         FROM due, webhooks w
         WHERE d.id = due.id AND w.id = d.webhook_id
         RETURNING d.id, d.webhook_id, d.event_id, d.event_type, d.payload, d.attempts, w.url, w.secret,
                   d.next_attempt_at`,
        limit,
        leaseMs,
      );
      return rows.map((r) => ({
        id: r.id,
        webhookId: r.webhook_id,
        eventId: r.event_id,
        eventType: r.event_type,
        payload: r.payload,
        attempts: r.attempts,
        url: r.url,
        sealedSecret: r.secret,
        leaseUntil: r.next_attempt_at,
      }));
    },

    async record(claim, result) {
      const claimed = `id = $1::uuid AND status = 'pending' AND next_attempt_at = $2::timestamptz`;
      const error = (message: string) => message.slice(0, MAX_ERROR_LENGTH);
      let count: number;
      switch (result.outcome) {
        case "succeeded":
          count = await prisma.$executeRawUnsafe(
            `UPDATE webhook_deliveries
             SET status = 'succeeded', attempts = attempts + 1, last_status_code = $3, last_error = NULL,
                 completed_at = now()
             WHERE ${claimed}`,
            claim.id,
            claim.leaseUntil,
            result.statusCode,
          );
          break;
        case "retry":
          count = await prisma.$executeRawUnsafe(
            `UPDATE webhook_deliveries
             SET attempts = attempts + 1, last_status_code = $3, last_error = $4,
                 next_attempt_at = now() + $5 * interval '1 millisecond'
             WHERE ${claimed}`,
            claim.id,
            claim.leaseUntil,
            result.statusCode,
            error(result.error),
            Math.round(result.delayMs),
          );
          break;
        case "failed":
          count = await prisma.$executeRawUnsafe(
            `UPDATE webhook_deliveries
             SET status = 'failed', attempts = attempts + 1, last_status_code = $3, last_error = $4,
                 completed_at = now()
             WHERE ${claimed}`,
            claim.id,
            claim.leaseUntil,
            result.statusCode,
            error(result.error),
          );
          break;
      }
      return count > 0;
    },

    async release(claim) {
      await prisma.$executeRawUnsafe(
        `UPDATE webhook_deliveries SET next_attempt_at = now()
         WHERE id = $1::uuid AND status = 'pending' AND next_attempt_at = $2::timestamptz`,
        claim.id,
        claim.leaseUntil,
      );
    },
  };
}
