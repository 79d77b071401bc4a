import type { Tx } from "./database.ts";
import type { QuotaKind } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { QuotaKind };

/**
 * Serialises, until the transaction ends, every transaction that may add rows of `kind` for
 * this user: a transaction-scoped advisory lock per (user, kind). Under it a count is exact for
 * the rest of the transaction (READ COMMITTED: every later statement sees what the previous
 * holder committed), so two concurrent creates cannot both take the last slot. Other kinds
 * and other users never wait for it; reads never do.
 */
export async function lockQuota(tx: Tx, userId: string, kind: QuotaKind): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`quota:${kind}:${userId}`}, 0))`;
}

/** How many rows of `kind` the user owns now. */
export async function countOwned(tx: Tx, userId: string, kind: QuotaKind): Promise<number> {
  const where = { userId };
  switch (kind) {
    case "tasks":
      return tx.task.count({ where });
    case "lists":
      return tx.taskList.count({ where });
    case "tags":
      return tx.tag.count({ where });
    case "tokens":
      return tx.personalAccessToken.count({ where });
  }
}

/** How many of these normalised tag names the user has no tag for yet. */
export async function countMissingTags(tx: Tx, userId: string, normalizedNames: string[]): Promise<number> {
  if (normalizedNames.length === 0) return 0;
  const existing = await tx.tag.count({ where: { userId, normalizedName: { in: normalizedNames } } });
  return normalizedNames.length - existing;
}

/**
 * Deletes the user's tags that no task carries any more (tags have no DELETE of their own:
 * they exist while used). Run under the tags lock when the quota is full, so unused tags never
 * keep a user at the limit. Returns how many went.
 */
export async function deleteUnusedTags(tx: Tx, userId: string): Promise<number> {
  return tx.$executeRaw`DELETE FROM tags g WHERE g.user_id = ${userId}
    AND NOT EXISTS (SELECT 1 FROM task_tags tt WHERE tt.tag_id = g.id)`;
}
