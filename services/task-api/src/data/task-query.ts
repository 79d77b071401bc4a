/**
 * SQL for GET /v1/tasks: filters, multi-key sort and keyset (cursor) pagination.
 *
 * Every sort ends with the task id as a tie-break, so the order is total and a cursor
 * (the last row's sort values + id) names an exact position: no task is skipped or
 * repeated across pages, even while tasks are inserted or deleted. NULL due dates sort
 * last in both directions.
 */
import type {
  SortKey,
  SortTerm,
  DueBound,
  TaskFilter,
  CursorValue,
  CursorPosition,
} from "../domain/ports.ts";

// The shapes are the domain's (domain/ports.ts); this module implements them.
export type { SortKey, SortTerm, DueBound, TaskFilter, CursorValue, CursorPosition };

interface SortColumn {
  expr: string;
  nullable: boolean;
  /** Cast for a cursor value bound as a parameter. */
  cast: string;
}

const SORT_COLUMNS: Record<Exclude<SortKey, "rank">, SortColumn> = {
  dueAt: { expr: "t.due_at", nullable: true, cast: "timestamptz" },
  priority: { expr: "t.priority", nullable: false, cast: "priority" },
  createdAt: { expr: "t.created_at", nullable: false, cast: "timestamptz" },
  updatedAt: { expr: "t.updated_at", nullable: false, cast: "timestamptz" },
  title: { expr: "t.title", nullable: false, cast: "text" },
};

export const TASK_COLUMNS = `t.id, t.list_id, t.parent_id, t.title, t.description, t.completed, t.completed_at,
  t.priority::text AS priority, t.due_at, t.all_day, t.recurrence, t.remind_at, t.created_at, t.updated_at, t.version,
  CASE WHEN t.due_at IS NOT NULL THEN to_char(t.due_at AT TIME ZONE u.time_zone, 'YYYY-MM-DD') END AS due_date,
  COALESCE((SELECT array_agg(g.name::text ORDER BY g.normalized_name) FROM task_tags tt JOIN tags g ON g.id = tt.tag_id
            WHERE tt.task_id = t.id), '{}'::text[]) AS tags`;

/** Search words become a prefix AND-query ("groc milk" -> groc:* & milk:*). */
function toPrefixTsQuery(words: readonly string[]): string {
  return words.map((w) => `${w}:*`).join(" & ");
}

class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function dueBound(bound: DueBound, params: Params): string {
  return "instant" in bound
    ? `${params.add(bound.instant)}::timestamptz`
    : `(${params.add(bound.date)}::date::timestamp AT TIME ZONE u.time_zone)`;
}

const OVERDUE = `(NOT t.completed AND t.due_at IS NOT NULL AND CASE WHEN t.all_day
  THEN (t.due_at AT TIME ZONE u.time_zone)::date < (now() AT TIME ZONE u.time_zone)::date
  ELSE t.due_at < now() END)`;

function filterClauses(filter: TaskFilter, params: Params): string[] {
  const where: string[] = [];
  if (filter.status === "open") where.push("NOT t.completed");
  if (filter.status === "completed") where.push("t.completed");
  if (filter.priorities?.length) where.push(`t.priority = ANY(${params.add(filter.priorities)}::priority[])`);
  if (filter.tags?.length) {
    const names = params.add(filter.tags);
    where.push(
      filter.tagMatch === "all"
        ? `(SELECT count(*) FROM task_tags tt JOIN tags g ON g.id = tt.tag_id
             WHERE tt.task_id = t.id AND g.normalized_name = ANY(${names}::text[])) = ${params.add(new Set(filter.tags).size)}`
        : `EXISTS (SELECT 1 FROM task_tags tt JOIN tags g ON g.id = tt.tag_id
             WHERE tt.task_id = t.id AND g.normalized_name = ANY(${names}::text[]))`,
    );
  }
  for (const [column, value] of [
    ["t.list_id", filter.listId],
    ["t.parent_id", filter.parentId],
  ] as const) {
    if (value === "none") where.push(`${column} IS NULL`);
    else if (value !== undefined) where.push(`${column} = ${params.add(value)}::uuid`);
  }
  if (filter.dueBefore) where.push(`t.due_at < ${dueBound(filter.dueBefore, params)}`);
  if (filter.dueAfter) where.push(`t.due_at >= ${dueBound(filter.dueAfter, params)}`);
  if (filter.overdue === true) where.push(OVERDUE);
  if (filter.overdue === false) where.push(`NOT ${OVERDUE}`);
  if (filter.search !== undefined)
    where.push(`t.search @@ to_tsquery('simple', ${params.add(toPrefixTsQuery(filter.search))})`);
  return where;
}

function sortColumn(term: SortTerm, filter: TaskFilter, params: Params): SortColumn {
  if (term.key !== "rank") return SORT_COLUMNS[term.key];
  if (filter.search === undefined) throw new Error("rank sort needs a search query");
  return {
    expr: `ts_rank_cd(t.search, to_tsquery('simple', ${params.add(toPrefixTsQuery(filter.search))}))`,
    nullable: false,
    cast: "real",
  };
}

/** "Comes strictly after the cursor" for one sort column, NULLs last in both directions. */
function after(col: SortColumn, desc: boolean, value: CursorValue, params: Params): string {
  if (value === null) return "FALSE";
  const bound = `${params.add(value)}::${col.cast}`;
  const cmp = `${col.expr} ${desc ? "<" : ">"} ${bound}`;
  return col.nullable ? `(${cmp} OR ${col.expr} IS NULL)` : cmp;
}

function equal(col: SortColumn, value: CursorValue, params: Params): string {
  return value === null ? `${col.expr} IS NULL` : `${col.expr} = ${params.add(value)}::${col.cast}`;
}

export interface TaskPageQuery {
  text: string;
  values: unknown[];
  /** Number of leading sort columns returned as s0, s1, ... for building the next cursor. */
  sortCount: number;
}

export function buildTaskPageQuery(
  userId: string,
  filter: TaskFilter,
  sort: SortTerm[],
  cursor: CursorPosition | undefined,
  limit: number,
): TaskPageQuery {
  const params = new Params();
  const where = [`t.user_id = ${params.add(userId)}`, ...filterClauses(filter, params)];
  const keys = sort.map((term) => ({ col: sortColumn(term, filter, params), desc: term.desc }));

  if (cursor) {
    // (k1 > c1) OR (k1 = c1 AND k2 > c2) OR ... OR (all equal AND id > cursor id)
    const alternatives = keys.map(({ col, desc }, i) => {
      const prefix = keys.slice(0, i).map((key, j) => equal(key.col, cursor.values[j] ?? null, params));
      return `(${[...prefix, after(col, desc, cursor.values[i] ?? null, params)].join(" AND ")})`;
    });
    const allEqual = keys.map((key, j) => equal(key.col, cursor.values[j] ?? null, params));
    alternatives.push(`(${[...allEqual, `t.id > ${params.add(cursor.id)}::uuid`].join(" AND ")})`);
    where.push(`(${alternatives.join(" OR ")})`);
  }

  const order = [
    ...keys.map(
      ({ col, desc }) => `${col.expr} ${desc ? "DESC" : "ASC"}${col.nullable ? " NULLS LAST" : ""}`,
    ),
    "t.id ASC",
  ];
  const sortOutputs = keys.map(({ col }, i) => `, ${col.expr} AS s${i}`).join("");
  const text = `SELECT ${TASK_COLUMNS}${sortOutputs}
FROM tasks t JOIN users u ON u.id = t.user_id
WHERE ${where.join("\n  AND ")}
ORDER BY ${order.join(", ")}
LIMIT ${params.add(limit)}`;
  return { text, values: params.values, sortCount: keys.length };
}
