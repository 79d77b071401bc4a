import type { Sql, Tx } from "./database.ts";
import type { ListView } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { ListView };

interface ListRow {
  id: string;
  name: string;
  open_task_count: number;
  created_at: Date;
  updated_at: Date;
  version: number;
}

const COLUMNS = `l.id, l.name, l.created_at, l.updated_at, l.version,
  (SELECT count(*)::int FROM tasks t WHERE t.user_id = l.user_id AND t.list_id = l.id AND NOT t.completed) AS open_task_count`;

function toView(row: ListRow): ListView {
  return {
    id: row.id,
    name: row.name,
    openTaskCount: row.open_task_count,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    version: row.version,
  };
}

export async function findListView(sql: Sql, userId: string, id: string): Promise<ListView | undefined> {
  const [row] = await sql.query<ListRow>(
    `SELECT ${COLUMNS} FROM lists l WHERE l.id = $1::uuid AND l.user_id = $2`,
    [id, userId],
  );
  return row && toView(row);
}

/** Lists in creation order (ids are UUIDv7, so id order is creation order). */
export async function findListPage(
  sql: Sql,
  userId: string,
  afterId: string | undefined,
  limit: number,
): Promise<{ data: ListView[]; next: string | undefined }> {
  const rows = await sql.query<ListRow>(
    `SELECT ${COLUMNS} FROM lists l WHERE l.user_id = $1 AND ($2::uuid IS NULL OR l.id > $2::uuid) ORDER BY l.id LIMIT $3`,
    [userId, afterId ?? null, limit + 1],
  );
  const page = rows.slice(0, limit);
  return { data: page.map(toView), next: rows.length > limit ? page.at(-1)?.id : undefined };
}

export async function listExists(tx: Tx, userId: string, id: string): Promise<boolean> {
  return (await tx.taskList.count({ where: { userId, id } })) > 0;
}

export async function insertList(tx: Tx, userId: string, name: string): Promise<string> {
  return (await tx.taskList.create({ data: { userId, name }, select: { id: true } })).id;
}

/** Renames if the list is the user's and (when given) at the expected version; returns false otherwise. */
export async function lockList(tx: Tx, userId: string, id: string): Promise<{ version: number } | undefined> {
  const rows = await tx.$queryRaw<
    { version: number }[]
  >`SELECT version FROM lists WHERE id = ${id}::uuid AND user_id = ${userId} FOR UPDATE`;
  const row = rows[0];
  return row && { version: row.version };
}

export async function updateList(tx: Tx, userId: string, id: string, name: string): Promise<void> {
  await tx.taskList.update({
    where: { userId_id: { userId, id } },
    data: { name, version: { increment: 1 } },
  });
}

/** Deletes the list; its tasks go with it (ON DELETE CASCADE), as in Todoist and Google Tasks. */
export async function deleteList(tx: Tx, userId: string, id: string): Promise<boolean> {
  return (await tx.taskList.deleteMany({ where: { userId, id } })).count > 0;
}
