import { isUuid } from "@taskmesh/core";
import type { Sql, Tx } from "./database.ts";
import type { PrismaClient } from "@taskmesh/db";
import type { MeView } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { MeView };

const SELECT = {
  id: true,
  name: true,
  email: true,
  emailVerified: true,
  image: true,
  timeZone: true,
  createdAt: true,
  updatedAt: true,
} as const;

type UserRow = Omit<MeView, "createdAt" | "updatedAt"> & { createdAt: Date; updatedAt: Date };

function toView(u: UserRow): MeView {
  return { ...u, createdAt: u.createdAt.toISOString(), updatedAt: u.updatedAt.toISOString() };
}

export async function findMe(db: PrismaClient | Tx, userId: string): Promise<MeView | undefined> {
  const user = await db.user.findUnique({ where: { id: userId }, select: SELECT });
  return user ? toView(user) : undefined;
}

export async function userExists(sql: Sql, userId: string): Promise<boolean> {
  // users.id is a uuid: any other string names no user (and would fail the cast with a 500).
  if (!isUuid(userId)) return false;
  return (await sql.query(`SELECT 1 FROM users WHERE id = $1`, [userId], "user-exists")).length > 0;
}

export async function lockUserTimeZone(tx: Tx, userId: string): Promise<string | undefined> {
  const rows = await tx.$queryRaw<
    { time_zone: string }[]
  >`SELECT time_zone FROM users WHERE id = ${userId} FOR UPDATE`;
  return rows[0]?.time_zone;
}

/** Whether the account still exists, holding it (FOR KEY SHARE) so it cannot be deleted until the transaction ends. */
export async function lockAccount(tx: Tx, userId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT 1 FROM users WHERE id = ${userId} FOR KEY SHARE`;
  return rows.length > 0;
}

export async function userTimeZone(tx: Tx, userId: string): Promise<string | undefined> {
  return (await tx.user.findUnique({ where: { id: userId }, select: { timeZone: true } }))?.timeZone;
}

export async function updateMe(
  tx: Tx,
  userId: string,
  fields: { name?: string; timeZone?: string },
): Promise<void> {
  await tx.user.update({ where: { id: userId }, data: fields });
}

/** Deletes the account; sessions, lists, tasks, tags and idempotency records cascade with it. */
export async function deleteUser(tx: Tx, userId: string): Promise<boolean> {
  return (await tx.user.deleteMany({ where: { id: userId } })).count > 0;
}
