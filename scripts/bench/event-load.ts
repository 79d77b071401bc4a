/**
 * Load for bench:events: realistic task.* outbox rows written straight into outbox_events
 * (as task-api's own transactions write them), paced at a target rate, and what the
 * benchmark reads back (recorded history entries, outbox backlog, end-to-end latency).
 */
import { EVENT_TYPES, TOPICS, newEvent, type TaskEventType, type TaskSnapshot } from "@taskmesh/contracts";
import type pg from "pg";
import { v7 as uuidv7 } from "uuid";

const TITLES = ["Quarterly report", "Groceries", "Deploy release", "Review pull request", "Call the bank"];
const TAGS = [["work"], ["home", "errands"], ["work", "ops"], ["work", "code-review"], []];
const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;
/** Stands for the commit time; replaced by the inserting transaction's now() (Postgres clock). */
const NOW = "1970-01-01T00:00:00.000Z";

interface TaskState {
  id: string;
  userId: string;
  version: number;
  snapshot: TaskSnapshot;
}

/** One outbox row: type, partition key, data (JSON text whose occurredAt is stamped by Postgres). */
export interface OutboxInsert {
  type: TaskEventType;
  key: string;
  data: string;
}

/**
 * Events of a pool of tasks, round-robin, each task's in order (created, then updates,
 * completes and reopens: the mix a to-do app writes), with the payloads task-api writes
 * (task after the change, changed fields, actor, per-task sequence). Every shape is checked
 * against the contract (newEvent parses it) before the run.
 */
export function createEventSource(options: { tasks: number; users: number }): {
  next(count: number): OutboxInsert[];
  /** Bytes of a typical event's data (JSON). */
  typicalDataBytes: number;
} {
  const tasks: TaskState[] = [];
  // User ids are UUIDs (the contract's userIdSchema), as task-api's users.id.
  const users = Array.from({ length: options.users }, () => uuidv7());
  for (let i = 0; i < options.tasks; i++) {
    const id = uuidv7();
    const userId = users[i % options.users] ?? "";
    const n = i % TITLES.length;
    tasks.push({
      id,
      userId,
      version: 0,
      snapshot: {
        id,
        userId,
        listId: null,
        parentId: null,
        title: `${TITLES[n] ?? "Task"} #${i}`,
        description:
          i % 3 === 0 ? `Notes for task ${i}: what to bring, whom to ask, where it is filed.` : null,
        completed: false,
        completedAt: null,
        priority: PRIORITIES[i % PRIORITIES.length] ?? "none",
        tags: TAGS[n] ?? [],
        dueAt: "2026-12-24T09:00:00.000Z",
        allDay: false,
        recurrence: i % 7 === 0 ? "FREQ=WEEKLY;BYDAY=MO" : null,
        remindAt: i % 2 === 0 ? "2026-12-24T08:30:00.000Z" : null,
        createdAt: "2026-11-26T08:00:00.000Z",
        updatedAt: NOW,
        version: 1,
      },
    });
  }
  let cursor = 0;

  function eventOf(task: TaskState): OutboxInsert {
    task.version++;
    const before = task.snapshot;
    let type: TaskEventType;
    let changes: Record<string, { from: unknown; to: unknown }> = {};
    let after: TaskSnapshot;
    if (task.version === 1) {
      type = EVENT_TYPES.taskCreated;
      after = { ...before, version: 1 };
    } else if (task.version % 4 === 3) {
      type = before.completed ? EVENT_TYPES.taskReopened : EVENT_TYPES.taskCompleted;
      const completedAt = before.completed ? null : NOW;
      after = { ...before, completed: !before.completed, completedAt, version: task.version };
      changes = {
        completed: { from: before.completed, to: after.completed },
        completedAt: { from: before.completedAt, to: completedAt },
      };
    } else {
      type = EVENT_TYPES.taskUpdated;
      const priority = PRIORITIES[(PRIORITIES.indexOf(before.priority) + 1) % PRIORITIES.length] ?? "none";
      after = { ...before, priority, version: task.version };
      changes = { priority: { from: before.priority, to: priority } };
    }
    task.snapshot = after;
    const data = {
      taskId: task.id,
      userId: task.userId,
      sequence: task.version,
      occurredAt: NOW,
      actor: { kind: "user", id: task.userId },
      task: after,
      changes,
    };
    return { type, key: task.id, data: JSON.stringify(data) };
  }

  // The shapes the run writes, checked against the contract once.
  const probe = createProbe();
  for (const sample of probe) {
    newEvent(sample.type, JSON.parse(sample.data) as never, { id: uuidv7() });
  }
  function createProbe(): OutboxInsert[] {
    const first = tasks[0];
    if (!first) throw new Error("no tasks");
    const state = structuredClone(first);
    return Array.from({ length: 6 }, () => eventOf(state));
  }

  return {
    next(count) {
      const out: OutboxInsert[] = [];
      for (let i = 0; i < count; i++) {
        const task = tasks[cursor];
        cursor = (cursor + 1) % tasks.length;
        if (task) out.push(eventOf(task));
      }
      return out;
    },
    typicalDataBytes: Buffer.byteLength(probe[1]?.data ?? ""),
  };
}

/**
 * One INSERT for any number of rows, as task-api's appendToOutbox does; ids are UUIDv7 (the
 * relay publishes in id order), occurredAt and the task's timestamps are this transaction's
 * now(), the same clock as created_at and audit_entries.recorded_at.
 */
const INSERT_SQL = `
WITH stamp AS (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now_text)
INSERT INTO outbox_events (id, topic, type, partition_key, data)
SELECT e.id, $5, e.type, e.key, replace(e.data, '${NOW}', stamp.now_text)::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS e(id, type, key, data), stamp`;

export async function insertOutboxRows(pool: pg.Pool, rows: readonly OutboxInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await pool.query(INSERT_SQL, [
    rows.map(() => uuidv7()),
    rows.map((r) => r.type),
    rows.map((r) => r.key),
    rows.map((r) => r.data),
    TOPICS.taskEvents,
  ]);
}

/**
 * Writes `rate` events per second for `seconds`, in one INSERT per tick (one transaction, as
 * a burst of task writes would be); a tick that falls behind catches up in the next one.
 * Resolves with how many rows it wrote and the rate it really achieved.
 */
export async function offerLoad(
  pool: pg.Pool,
  source: ReturnType<typeof createEventSource>,
  rate: number,
  seconds: number,
  tickMs = 20,
): Promise<{ written: number; achievedRate: number }> {
  const started = performance.now();
  const total = Math.round(rate * seconds);
  let written = 0;
  while (written < total) {
    const elapsed = (performance.now() - started) / 1000;
    const due = Math.min(total, Math.floor(rate * elapsed)) - written;
    if (due > 0) {
      // Big catch-ups are split: one transaction of a few thousand rows at most.
      const batch = Math.min(due, 5000);
      await insertOutboxRows(pool, source.next(batch));
      written += batch;
    }
    const nextTickAt = started + ((written + 1) / rate) * 1000;
    const wait = Math.max(0, Math.min(tickMs, nextTickAt - performance.now()));
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const took = (performance.now() - started) / 1000;
  return { written, achievedRate: written / Math.max(took, seconds) };
}

/** History entries recorded so far (the pipeline's output). */
export async function recordedCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM audit_entries");
  return Number(rows[0]?.n ?? 0);
}

/** Outbox rows not yet published. */
export async function outboxPending(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events");
  return Number(rows[0]?.n ?? 0);
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * End-to-end latency of the history entries whose change happened at or after `since`:
 * audit_entries.recorded_at - occurred_at (both stamped by Postgres; millisecond columns).
 */
export async function latencySince(pool: pg.Pool, since: Date): Promise<LatencySummary> {
  const { rows } = await pool.query<{
    n: string;
    p50: number | null;
    p99: number | null;
    max: number | null;
  }>(
    `SELECT count(*) AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            max(ms) AS max
     FROM (SELECT (extract(epoch FROM recorded_at - occurred_at) * 1000)::float8 AS ms
           FROM audit_entries WHERE occurred_at >= $1) t`,
    [since],
  );
  const row = rows[0];
  return { count: Number(row?.n ?? 0), p50: row?.p50 ?? NaN, p99: row?.p99 ?? NaN, max: row?.max ?? NaN };
}

/** The Postgres clock (the one occurred_at and recorded_at use). */
export async function databaseNow(pool: pg.Pool): Promise<Date> {
  const { rows } = await pool.query<{ now: Date }>("SELECT clock_timestamp() AS now");
  return rows[0]?.now ?? new Date();
}
