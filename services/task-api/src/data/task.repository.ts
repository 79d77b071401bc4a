import type { Priority } from "@taskmesh/db";
import {
  buildTaskPageQuery,
  TASK_COLUMNS,
  type CursorPosition,
  type CursorValue,
  type SortTerm,
  type TaskFilter,
} from "./task-query.ts";
import type { Sql, Tx } from "./database.ts";
import type { TaskView, TaskPage, TaskRecord, TaskFields } from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { TaskView, TaskPage, TaskRecord, TaskFields };

interface TaskRow {
  id: string;
  list_id: string | null;
  parent_id: string | null;
  title: string;
  description: string | null;
  completed: boolean;
  completed_at: Date | null;
  priority: Priority;
  due_at: Date | null;
  all_day: boolean;
  recurrence: string | null;
  remind_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
  due_date: string | null;
  tags: string[];
  [sortValue: `s${number}`]: unknown;
}

const iso = (d: Date | null): string | null => (d === null ? null : new Date(d).toISOString());

function toView(row: TaskRow): TaskView {
  return {
    id: row.id,
    listId: row.list_id,
    parentId: row.parent_id,
    title: row.title,
    description: row.description,
    completed: row.completed,
    completedAt: iso(row.completed_at),
    priority: row.priority,
    tags: row.tags,
    dueAt: iso(row.due_at),
    allDay: row.all_day,
    dueDate: row.due_date,
    recurrence: row.recurrence,
    remindAt: iso(row.remind_at),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    version: row.version,
  };
}

/** The current views of some of a user's tasks (missing ids are simply absent). */
export async function findTaskViews(sql: Sql, userId: string, ids: string[]): Promise<TaskView[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM tasks t JOIN users u ON u.id = t.user_id WHERE t.id = ANY($1::uuid[]) AND t.user_id = $2`,
    [ids, userId],
  );
  return rows.map(toView);
}

/** Ids of a user's tasks matching a plain filter (for changes that touch many tasks at once). */
export async function findTaskIds(
  tx: Tx,
  where: { userId: string; parentId?: string; listId?: string; allDay?: boolean },
): Promise<string[]> {
  return (await tx.task.findMany({ where, select: { id: true } })).map((t) => t.id);
}

/** GET /v1/tasks/:id, the hot read path (the benchmark baseline runs this same statement). */
export const TASK_BY_ID_SQL = `SELECT ${TASK_COLUMNS} FROM tasks t JOIN users u ON u.id = t.user_id WHERE t.id = $1::uuid AND t.user_id = $2`;

export async function findTaskView(sql: Sql, userId: string, id: string): Promise<TaskView | undefined> {
  const [row] = await sql.query<TaskRow>(TASK_BY_ID_SQL, [id, userId], "task-by-id");
  return row && toView(row);
}

function cursorValue(value: unknown): CursorValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "number" || typeof value === "string") return value;
  throw new Error(`unexpected sort value of type ${typeof value}`);
}

export async function findTaskPage(
  sql: Sql,
  userId: string,
  filter: TaskFilter,
  sort: SortTerm[],
  cursor: CursorPosition | undefined,
  limit: number,
): Promise<TaskPage> {
  const query = buildTaskPageQuery(userId, filter, sort, cursor, limit + 1);
  const rows = await sql.query<TaskRow>(query.text, query.values);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next =
    rows.length > limit && last
      ? { id: last.id, values: Array.from({ length: query.sortCount }, (_, i) => cursorValue(last[`s${i}`])) }
      : undefined;
  return { data: page.map(toView), next };
}

export async function lockTask(tx: Tx, userId: string, id: string): Promise<TaskRecord | undefined> {
  const rows = await tx.$queryRaw<
    {
      id: string;
      list_id: string | null;
      parent_id: string | null;
      completed: boolean;
      due_at: Date | null;
      all_day: boolean;
      recurrence: string | null;
      version: number;
    }[]
  >`SELECT id, list_id, parent_id, completed, due_at, all_day, recurrence, version
    FROM tasks WHERE id = ${id}::uuid AND user_id = ${userId} FOR UPDATE`;
  const row = rows[0];
  return (
    row && {
      id: row.id,
      listId: row.list_id,
      parentId: row.parent_id,
      completed: row.completed,
      dueAt: row.due_at,
      allDay: row.all_day,
      recurrence: row.recurrence,
      version: row.version,
    }
  );
}

export async function insertTask(
  tx: Tx,
  userId: string,
  fields: TaskFields & { title: string },
): Promise<string> {
  const task = await tx.task.create({ data: { ...fields, userId }, select: { id: true } });
  return task.id;
}

/**
 * Inserts a task unless one of the user's tasks already has this occurrence key: the unique
 * index (user_id, occurrence_key) decides (ON CONFLICT DO NOTHING), so two concurrent
 * inserts of one occurrence create one task. Undefined when it existed.
 */
export async function insertTaskOnce(
  tx: Tx,
  userId: string,
  fields: TaskFields & { title: string },
  occurrenceKey: string,
): Promise<string | undefined> {
  const [task] = await tx.task.createManyAndReturn({
    data: [{ ...fields, userId, occurrenceKey }],
    skipDuplicates: true,
    select: { id: true },
  });
  return task?.id;
}

export async function findTaskIdByOccurrenceKey(
  tx: Tx,
  userId: string,
  occurrenceKey: string,
): Promise<string | undefined> {
  const task = await tx.task.findUnique({
    where: { userId_occurrenceKey: { userId, occurrenceKey } },
    select: { id: true },
  });
  return task?.id;
}

/** Applies fields and bumps the version. */
export async function updateTask(tx: Tx, userId: string, id: string, fields: TaskFields): Promise<void> {
  await tx.task.update({
    where: { userId_id: { userId, id } },
    data: { ...fields, version: { increment: 1 } },
  });
}

export async function deleteTask(tx: Tx, userId: string, id: string): Promise<boolean> {
  const { count } = await tx.task.deleteMany({ where: { id, userId } });
  return count > 0;
}

export async function hasSubtasks(tx: Tx, userId: string, id: string): Promise<boolean> {
  return (await tx.task.count({ where: { userId, parentId: id }, take: 1 })) > 0;
}

/** Moves a task's subtasks to a list (a subtask lives in its parent's list). */
export async function moveSubtasks(
  tx: Tx,
  userId: string,
  parentId: string,
  listId: string | null,
): Promise<void> {
  await tx.task.updateMany({ where: { userId, parentId }, data: { listId, version: { increment: 1 } } });
}

/** Completes the open subtasks of a task (completing a parent completes its children). */
export async function completeSubtasks(tx: Tx, userId: string, parentId: string, at: Date): Promise<void> {
  await tx.task.updateMany({
    where: { userId, parentId, completed: false },
    data: { completed: true, completedAt: at, version: { increment: 1 } },
  });
}

/** A parent candidate: must exist for the same user and may not itself be a subtask. */
export async function findParent(
  tx: Tx,
  userId: string,
  id: string,
): Promise<{ parentId: string | null; listId: string | null } | undefined> {
  return (
    (await tx.task.findUnique({
      where: { userId_id: { userId, id } },
      select: { parentId: true, listId: true },
    })) ?? undefined
  );
}

/** Re-anchors all-day due dates when the owner's time zone changes (same dates, new zone). */
export async function reanchorAllDayTasks(tx: Tx, userId: string, from: string, to: string): Promise<void> {
  await tx.$executeRaw`UPDATE tasks
    SET due_at = ((due_at AT TIME ZONE ${from})::date::timestamp AT TIME ZONE ${to}), version = version + 1, updated_at = now()
    WHERE user_id = ${userId} AND all_day AND due_at IS NOT NULL`;
}
