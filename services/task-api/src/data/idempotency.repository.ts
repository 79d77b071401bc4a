import type { Prisma } from "@taskmesh/db";
import type { Tx } from "./database.ts";
import type { StoredResponse } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { StoredResponse };

/** Serialises requests with the same key: a concurrent retry waits, then replays. */
export async function lockKey(tx: Tx, userId: string, key: string): Promise<void> {
  // A space separates: keys are visible ASCII, user ids have none, and Postgres text cannot hold NUL.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${userId} ${key}`}, 0))`;
}

export async function findStoredResponse(
  tx: Tx,
  userId: string,
  key: string,
  now: Date,
): Promise<StoredResponse | undefined> {
  const row = await tx.idempotencyKey.findUnique({ where: { userId_key: { userId, key } } });
  if (!row || row.expiresAt <= now) return undefined;
  return {
    requestHash: row.requestHash,
    status: row.responseStatus,
    headers: row.responseHeaders as Record<string, string>,
    body: row.responseBody,
  };
}

export async function storeResponse(
  tx: Tx,
  record: { userId: string; key: string; method: string; path: string; expiresAt: Date } & StoredResponse,
): Promise<void> {
  const data = {
    method: record.method,
    path: record.path,
    requestHash: record.requestHash,
    responseStatus: record.status,
    responseHeaders: record.headers,
    responseBody: (record.body ?? null) as Prisma.InputJsonValue,
    expiresAt: record.expiresAt,
    createdAt: new Date(),
  };
  // An expired record with the same key is simply replaced.
  await tx.idempotencyKey.upsert({
    where: { userId_key: { userId: record.userId, key: record.key } },
    create: { userId: record.userId, key: record.key, ...data },
    update: data,
  });
}

export async function deleteExpired(
  db: { idempotencyKey: { deleteMany: Tx["idempotencyKey"]["deleteMany"] } },
  now: Date,
): Promise<number> {
  return (await db.idempotencyKey.deleteMany({ where: { expiresAt: { lte: now } } })).count;
}
