import { QuotaExceededError } from "@taskmesh/core";
import type { QuotaKind, Repositories } from "./ports.ts";
import { normalizeTagName } from "./tag.rules.ts";

/** Per-user quotas: how many of each a user may hold at once (QUOTA_* in config.ts). */
export type Quotas = Record<QuotaKind, number>;

/**
 * Defaults, each far above what one person's task manager holds (Todoist's paid plan: 300
 * projects; GitHub: 20 webhooks per event per repository) and low enough that one account cannot
 * fill the database or make its own pages slow: 10,000 tasks (completed ones count until deleted),
 * 200 lists, 500 tags, 50 personal access tokens (one per script or agent, expired ones count
 * until revoked).
 */
export const DEFAULT_QUOTAS: Quotas = { tasks: 10_000, lists: 200, tags: 500, tokens: 50 };

const NAMES: Record<QuotaKind, string> = {
  tasks: "tasks",
  lists: "lists",
  tags: "tags",
  tokens: "personal access tokens",
};

const REMEDY: Record<QuotaKind, string> = {
  tasks: "delete tasks you no longer need (completed tasks count until deleted)",
  lists: "delete a list you no longer need (its tasks go with it)",
  tags: "remove tags from tasks: a tag no task carries is deleted to make room",
  tokens: "revoke a token you no longer use (DELETE /v1/tokens/:id; expired tokens count until revoked)",
};

function exceeded(kind: QuotaKind, limit: number, adding: number): QuotaExceededError {
  const what = adding === 1 ? "" : ` (this request adds ${adding})`;
  return new QuotaExceededError(
    kind,
    limit,
    `You have reached the limit of ${limit} ${NAMES[kind]} per user${what}; ${REMEDY[kind]}, then try again.`,
  );
}

/**
 * Makes sure the user has room for `adding` more rows of `kind`, and keeps that room until the
 * transaction ends (lockQuota): call it before inserting. Throws QuotaExceededError when full;
 * the transaction then rolls back, so the request changes nothing.
 */
export async function reserveQuota(
  repos: Repositories,
  quotas: Quotas,
  userId: string,
  kind: QuotaKind,
  adding = 1,
): Promise<void> {
  await holdQuota(repos, quotas, userId, kind, adding, adding);
}

/**
 * reserveQuota for rows this transaction has inserted already, taken just before it commits:
 * the lock (held until the commit) then spans a count and the commit rather than the whole
 * write, so one user's concurrent creates queue only for that long. Under the lock the count
 * sees everything the earlier holders committed plus this transaction's own rows, and later
 * holders will see these; so it is as exact as reserveQuota. Throws QuotaExceededError when the
 * user now holds more than the quota; the transaction then rolls back with its insert.
 */
export async function confirmQuota(
  repos: Repositories,
  quotas: Quotas,
  userId: string,
  kind: QuotaKind,
  added = 1,
): Promise<void> {
  await holdQuota(repos, quotas, userId, kind, 0, added);
}

/** Locks the user's `kind` until the commit, then counts: `pending` rows are still to come. */
async function holdQuota(
  repos: Repositories,
  quotas: Quotas,
  userId: string,
  kind: QuotaKind,
  pending: number,
  adding: number,
): Promise<void> {
  await repos.quotas.lock(userId, kind);
  if ((await repos.quotas.countOwned(userId, kind)) + pending <= quotas[kind]) return;
  throw exceeded(kind, quotas[kind], adding);
}

/**
 * Room for the tags among `names` the user does not have yet. Names of existing tags cost
 * nothing and take no lock (the common case: tagging with known tags never waits). When full,
 * the user's unused tags are deleted first; only if that is not enough is the request refused.
 */
export async function reserveTagQuota(
  repos: Repositories,
  quotas: Quotas,
  userId: string,
  names: readonly string[],
): Promise<void> {
  const normalized = [...new Set(names.map(normalizeTagName))];
  if ((await repos.quotas.countMissingTags(userId, normalized)) === 0) return;
  await repos.quotas.lock(userId, "tags");
  // Counted under the lock: a concurrent request may have created some of them meanwhile, and
  // pruning may delete unused tags this request names (they are then missing again).
  const shortfall = async (): Promise<{ missing: number; over: boolean }> => {
    const missing = await repos.quotas.countMissingTags(userId, normalized);
    return { missing, over: (await repos.quotas.countOwned(userId, "tags")) + missing > quotas.tags };
  };
  let need = await shortfall();
  if (need.over && (await repos.quotas.deleteUnusedTags(userId)) > 0) need = await shortfall();
  if (need.over) throw exceeded("tags", quotas.tags, need.missing);
}
