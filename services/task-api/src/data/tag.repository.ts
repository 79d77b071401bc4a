import { v7 as uuidv7 } from "uuid";
import { normalizeTagName } from "../domain/tag.rules.ts";
import type { Sql, Tx } from "./database.ts";
import type { TagView } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { TagView };

/**
 * One statement: resolve the names to the user's tags (creating missing ones), drop the
 * task's other tags, link the wanted ones. Existing tags are never re-inserted: an
 * INSERT ... ON CONFLICT on an existing name waits for every concurrent transaction that
 * touched that name, which serialised all writes per tag.
 */
const REPLACE_TASK_TAGS = `
WITH wanted AS (
  SELECT * FROM unnest($3::text[], $4::text[], $5::uuid[]) AS w(normalized_name, name, new_id)
), existing AS (
  SELECT g.id FROM tags g JOIN wanted w ON w.normalized_name = g.normalized_name WHERE g.user_id = $1
), inserted AS (
  INSERT INTO tags (id, user_id, name, normalized_name)
  SELECT w.new_id, $1, w.name, w.normalized_name FROM wanted w
  WHERE NOT EXISTS (SELECT 1 FROM tags g WHERE g.user_id = $1 AND g.normalized_name = w.normalized_name)
  ON CONFLICT (user_id, normalized_name) DO NOTHING
  RETURNING id
), resolved AS (
  SELECT id FROM existing UNION ALL SELECT id FROM inserted
), removed AS (
  DELETE FROM task_tags WHERE task_id = $2::uuid AND tag_id NOT IN (SELECT id FROM resolved)
), linked AS (
  INSERT INTO task_tags (user_id, task_id, tag_id) SELECT $1, $2::uuid, id FROM resolved ON CONFLICT DO NOTHING
)
SELECT count(*)::int AS resolved FROM resolved`;

/**
 * Makes a task's tags exactly `names`, creating the user's tags that do not exist yet.
 * Names match case-insensitively; the first spelling of a new tag is kept.
 */
export async function replaceTaskTags(
  tx: Tx,
  userId: string,
  taskId: string,
  names: string[],
): Promise<void> {
  // Reversed so that, among names differing only in case, the first spelling wins.
  const byNormalized = new Map(names.toReversed().map((n) => [normalizeTagName(n), n.trim()]));
  const normalized = [...byNormalized.keys()];
  const spelled = [...byNormalized.values()];
  for (let attempt = 1; ; attempt++) {
    const newIds = normalized.map(() => uuidv7());
    const [row] = await tx.$queryRawUnsafe<{ resolved: number }[]>(
      REPLACE_TASK_TAGS,
      userId,
      taskId,
      normalized,
      spelled,
      newIds,
    );
    // A tag created by a concurrent transaction after this statement's snapshot is neither
    // "existing" nor "inserted" (ON CONFLICT skipped it); once that transaction has
    // committed, running the statement again sees it.
    if ((row?.resolved ?? 0) === normalized.length) return;
    if (attempt === 3)
      throw new Error(`could not resolve tags ${normalized.join(", ")} after ${attempt} attempts`);
  }
}

export async function findTagPage(
  sql: Sql,
  userId: string,
  after: string | undefined,
  limit: number,
): Promise<{ data: TagView[]; next: string | undefined }> {
  const rows = await sql.query<{
    id: string;
    name: string;
    normalized_name: string;
    open_task_count: number;
  }>(
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
