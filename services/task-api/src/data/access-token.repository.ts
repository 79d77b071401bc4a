import type { PrismaClient } from "@taskmesh/db";
import type { Sql, Tx } from "./database.ts";
import type { TokenScope, AccessTokenView, NewAccessToken, StoredAccessToken } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { TokenScope, AccessTokenView, StoredAccessToken };

/** The Prisma enum's names (the database stores "read" and "read-write"). */
type DbScope = "read" | "readWrite";

const toDb = (scope: TokenScope): DbScope => (scope === "read" ? "read" : "readWrite");
const fromDb = (scope: DbScope): TokenScope => (scope === "read" ? "read" : "read-write");

const SELECT = {
  id: true,
  name: true,
  scope: true,
  prefix: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
} as const;

function toView(row: {
  id: string;
  name: string;
  scope: DbScope;
  prefix: string;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
}): AccessTokenView {
  return {
    id: row.id,
    name: row.name,
    scope: fromDb(row.scope),
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

export async function insertAccessToken(tx: Tx, token: NewAccessToken): Promise<AccessTokenView> {
  const row = await tx.personalAccessToken.create({
    data: { ...token, scope: toDb(token.scope) },
    select: SELECT,
  });
  return toView(row);
}

/** The owner's tokens, newest first (ids are UUIDv7, so id order is creation order). */
export async function findAccessTokenPage(
  prisma: PrismaClient,
  userId: string,
  before: string | undefined,
  limit: number,
): Promise<{ data: AccessTokenView[]; next: string | undefined }> {
  const rows = await prisma.personalAccessToken.findMany({
    where: { userId, ...(before === undefined ? {} : { id: { lt: before } }) },
    orderBy: { id: "desc" },
    take: limit + 1,
    select: SELECT,
  });
  const page = rows.slice(0, limit).map(toView);
  return { data: page, next: rows.length > limit ? page.at(-1)?.id : undefined };
}

export async function findAccessToken(
  prisma: PrismaClient,
  userId: string,
  id: string,
): Promise<AccessTokenView | undefined> {
  const row = await prisma.personalAccessToken.findFirst({ where: { id, userId }, select: SELECT });
  return row ? toView(row) : undefined;
}

/** Deletes the owner's token; false when it is not theirs or does not exist. */
export async function deleteAccessToken(prisma: PrismaClient, userId: string, id: string): Promise<boolean> {
  return (await prisma.personalAccessToken.deleteMany({ where: { id, userId } })).count > 0;
}

interface TokenRow {
  id: string;
  user_id: string;
  scope: "read" | "read-write";
  expires_at: Date;
  last_used_at: Date | null;
}

/** The token with this hash (prepared statement: it runs on every request that uses a token). */
export async function findAccessTokenByHash(
  sql: Sql,
  tokenHash: string,
): Promise<StoredAccessToken | undefined> {
  const rows = await sql.query<TokenRow>(
    `SELECT id, user_id, scope::text AS scope, expires_at, last_used_at
       FROM personal_access_tokens WHERE token_hash = $1`,
    [tokenHash],
    "access-token-by-hash",
  );
  const row = rows[0];
  return row
    ? {
        id: row.id,
        userId: row.user_id,
        scope: row.scope,
        expiresAt: row.expires_at,
        lastUsedAt: row.last_used_at,
      }
    : undefined;
}

/**
 * Records a use, at most once per `minIntervalMs` whatever the number of replicas: the
 * condition is in the UPDATE, so concurrent requests write once.
 */
export async function touchAccessToken(
  sql: Sql,
  id: string,
  now: Date,
  minIntervalMs: number,
): Promise<void> {
  await sql.query(
    `UPDATE personal_access_tokens SET last_used_at = $2
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
    [id, now, new Date(now.getTime() - minIntervalMs)],
    "access-token-touch",
  );
}
