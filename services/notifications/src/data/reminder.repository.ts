import type pg from "pg";
import type { DueReminder } from "../domain/reminder-due.ts";
import type { ReminderChange } from "../domain/reminder-rules.ts";
import { withTransaction } from "./transaction.ts";

/**
 * `fired_at` of a reminder that was cancelled (task deleted or completed, remindAt removed)
 * before it fired. The row stays, with the sequence of the event that cancelled it, so an
 * older event delivered late cannot schedule the reminder again; a later event that gives the
 * task a reminder again finds "not fired" and schedules it.
 */
const CANCELLED = "epoch";

type Queryable = Pick<pg.PoolClient, "query">;

/**
 * Applies a task event's effect on the task's reminder, unless the row already reflects this
 * event or a newer one (its task_sequence). A changed remindAt, or a cancelled reminder coming
 * back, resets fired_at so the new time fires; the same remindAt that already fired stays fired.
 * Returns whether the row changed.
 */
export async function applyReminderChange(db: Queryable, change: ReminderChange): Promise<boolean> {
  if (change.kind === "schedule") {
    const result = await db.query(
      `INSERT INTO reminders (task_id, user_id, remind_at, title, due_at, task_sequence, fired_at)
       VALUES ($1, $2, $3, $4, $5, $6, NULL)
       ON CONFLICT (task_id) DO UPDATE SET
         user_id = EXCLUDED.user_id,
         remind_at = EXCLUDED.remind_at,
         title = EXCLUDED.title,
         due_at = EXCLUDED.due_at,
         task_sequence = EXCLUDED.task_sequence,
         fired_at = CASE
           WHEN reminders.remind_at = EXCLUDED.remind_at AND reminders.fired_at <> '${CANCELLED}'
             THEN reminders.fired_at
           ELSE NULL
         END
       WHERE reminders.task_sequence < EXCLUDED.task_sequence`,
      [change.taskId, change.userId, change.remindAt, change.title, change.dueAt, change.sequence],
    );
    return (result.rowCount ?? 0) > 0;
  }
  if (change.remember) {
    const result = await db.query(
      `INSERT INTO reminders (task_id, user_id, remind_at, title, due_at, task_sequence, fired_at)
       VALUES ($1, $2, $3, $4, $5, $6, '${CANCELLED}')
       ON CONFLICT (task_id) DO UPDATE SET
         title = EXCLUDED.title,
         due_at = EXCLUDED.due_at,
         task_sequence = EXCLUDED.task_sequence,
         fired_at = COALESCE(reminders.fired_at, '${CANCELLED}')
       WHERE reminders.task_sequence < EXCLUDED.task_sequence`,
      [change.taskId, change.userId, change.remindAt, change.title, change.dueAt, change.sequence],
    );
    return (result.rowCount ?? 0) > 0;
  }
  const result = await db.query(
    `UPDATE reminders SET task_sequence = $2, fired_at = COALESCE(fired_at, '${CANCELLED}')
     WHERE task_id = $1 AND task_sequence < $2`,
    [change.taskId, change.sequence],
  );
  return (result.rowCount ?? 0) > 0;
}

interface DueReminderRow {
  task_id: string;
  user_id: string;
  remind_at: Date;
  title: string;
  due_at: Date | null;
  fired_at: Date;
}

/**
 * Claims up to `limit` due reminders (remindAt passed, not fired) by setting fired_at, inside
 * the caller's transaction. Rows another transaction has claimed are skipped, not waited for
 * (SKIP LOCKED): with several replicas ticking at once, each reminder is claimed by one. The
 * claim only becomes visible when the caller commits, i.e. after it has published.
 */
export async function claimDueReminders(db: Queryable, limit: number): Promise<DueReminder[]> {
  const result = await db.query<DueReminderRow>(
    `WITH due AS (
       SELECT task_id FROM reminders
       WHERE remind_at <= now() AND fired_at IS NULL
       ORDER BY remind_at
       LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE reminders r SET fired_at = now()
     FROM due WHERE r.task_id = due.task_id
     RETURNING r.task_id, r.user_id, r.remind_at, r.title, r.due_at, r.fired_at`,
    [limit],
  );
  return result.rows
    .map((row) => ({
      taskId: row.task_id,
      userId: row.user_id,
      remindAt: row.remind_at,
      title: row.title,
      dueAt: row.due_at,
      firedAt: row.fired_at,
    }))
    .sort((a, b) => a.remindAt.getTime() - b.remindAt.getTime());
}

/**
 * Claims due reminders and hands them to `publish` inside one transaction that commits only
 * when `publish` resolved: a crash or a failed publish rolls the claim back, so the next tick
 * fires those reminders again (with the same event ids, which consumers deduplicate). Nothing
 * is marked fired that was not published. Returns the reminders fired.
 */
export async function fireDueReminders(
  pool: pg.Pool,
  limit: number,
  publish: (reminders: DueReminder[]) => Promise<void>,
): Promise<DueReminder[]> {
  return withTransaction(pool, async (client) => {
    const due = await claimDueReminders(client, limit);
    if (due.length > 0) await publish(due);
    return due;
  });
}
