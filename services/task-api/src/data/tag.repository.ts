import type { Sql, Tx } from "./database.ts";

export interface TagView {
  id: string;
  name: string;
  openTaskCount: number;
}

export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * Makes a task's tags exactly `names`, creating the user's tags that do not exist yet.
 * Names match case-insensitively; an existing tag keeps the spelling it was created with.
 */
export async function replaceTaskTags(tx: Tx, userId: string, taskId: string, names: string[]): Promise<void> {
  // Reversed so that, among names differing only in case, the first spelling wins.
  const byNormalized = new Map(names.toReversed().map((n) => [normalizeTagName(n), n.trim()]));
  const normalized = [...byNormalized.keys()];
  const existing =
    normalized.length > 0
      ? await tx.tag.findMany({ where: { userId, normalizedName: { in: normalized } }, select: { id: true, normalizedName: true } })
      : [];
  // Insert only missing tags: INSERT ... ON CONFLICT on an existing name waits for every
  // concurrent transaction that touched that name, which serialised all writes per tag.
  const known = new Set(existing.map((t) => t.normalizedName));
  const missing = [...byNormalized].filter(([n]) => !known.has(n));
  let created: { id: string }[] = [];
  if (missing.length > 0) {
    await tx.tag.createMany({ data: missing.map(([normalizedName, name]) => ({ userId, name, normalizedName })), skipDuplicates: true });
    created = await tx.tag.findMany({ where: { userId, normalizedName: { in: missing.map(([n]) => n) } }, select: { id: true } });
  }
  const tagIds = [...existing, ...created].map((t) => t.id);
  await tx.taskTag.deleteMany({ where: { taskId, userId, tagId: { notIn: tagIds } } });
  if (tagIds.length > 0) {
    await tx.taskTag.createMany({ data: tagIds.map((tagId) => ({ userId, taskId, tagId })), skipDuplicates: true });
  }
}

export async function findTagPage(
  sql: Sql,
  userId: string,
  after: string | undefined,
  limit: number,
): Promise<{ data: TagView[]; next: string | undefined }> {
  const rows = await sql.query<{ id: string; name: string; normalized_name: string; open_task_count: number }>(
    `SELECT g.id, g.name, g.normalized_name,
       (SELECT count(*)::int FROM task_tags tt JOIN tasks t ON t.id = tt.task_id WHERE tt.tag_id = g.id AND NOT t.completed) AS open_task_count
     FROM tags g WHERE g.user_id = $1 AND ($2::text IS NULL OR g.normalized_name > $2::text)
     ORDER BY g.normalized_name LIMIT $3`,
    [userId, after ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    data: page.map((r) => ({ id: r.id, name: r.name, openTaskCount: r.open_task_count })),
    next: rows.length > limit ? page.at(-1)?.normalized_name : undefined,
  };
}
