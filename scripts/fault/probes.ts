/**
 * Recovery probes: right after a fault, a probe write goes in (retried until task-api
 * acknowledges it) and the time until its effect shows up is the fault's recovery time.
 * - history: a new task; recovered when its task.created entry is in audit_entries.
 * - recurrence: completing a recurring task made beforehand; recovered when recurring-tasks
 *   has created its next occurrence (tasks.occurrence_key = "<task id>/<dueAt>").
 */
import { randomUUID } from "node:crypto";
import { isTaskBody, type ApiUser, type TaskBody } from "./client.ts";
import type { FaultDatabase } from "./database.ts";
import type { Acknowledgements } from "./writer.ts";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function untilAcknowledged<T>(
  attempt: () => Promise<T | undefined>,
  deadline: number,
): Promise<T | undefined> {
  while (Date.now() < deadline) {
    const value = await attempt();
    if (value !== undefined) return value;
    await sleep(300);
  }
  return undefined;
}

/** A recurring task made before a fault, completed by the recurrence probe after it. */
export async function prepareRecurrenceProbe(
  user: ApiUser,
  acknowledgements: Acknowledgements,
): Promise<TaskBody> {
  const deadline = Date.now() + 60_000;
  const key = randomUUID();
  const task = await untilAcknowledged(async () => {
    const res = await user.createTask(
      { title: `probe ${key.slice(0, 8)}`, dueAt: "2027-03-01T09:00:00.000Z", recurrence: "FREQ=DAILY" },
      key,
    );
    return res.status === 201 && isTaskBody(res.body) ? res.body : undefined;
  }, deadline);
  if (!task) throw new Error("the recurrence probe task could not be created");
  acknowledgements.record(user, "create", task, true);
  return task;
}

export interface ProbeOutcome {
  /** ms from the fault until the probe's effect was visible; undefined = not within the timeout. */
  recoveredAfterMs: number | undefined;
  /** ms from the fault until task-api acknowledged the probe write. */
  acknowledgedAfterMs: number | undefined;
}

async function waitForRow(
  db: FaultDatabase,
  sql: string,
  values: unknown[],
  deadline: number,
): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const rows = await db.query(sql, values, Math.max(0, deadline - Date.now()));
      if (rows.length > 0) return true;
    } catch {
      // The database is down (a Postgres fault): keep polling until the deadline.
    }
    await sleep(200);
  }
  return false;
}

export async function probeHistory(options: {
  user: ApiUser;
  db: FaultDatabase;
  acknowledgements: Acknowledgements;
  faultAt: number;
  timeoutMs: number;
}): Promise<ProbeOutcome> {
  const { user, db, faultAt } = options;
  const deadline = faultAt + options.timeoutMs;
  const key = randomUUID();
  const task = await untilAcknowledged(async () => {
    const res = await user.createTask({ title: `probe ${key.slice(0, 8)}` }, key);
    return res.status === 201 && isTaskBody(res.body) ? res.body : undefined;
  }, deadline);
  if (!task) return { recoveredAfterMs: undefined, acknowledgedAfterMs: undefined };
  options.acknowledgements.record(user, "create", task, true);
  const acknowledgedAfterMs = Date.now() - faultAt;
  const seen = await waitForRow(
    db,
    "SELECT 1 FROM audit_entries WHERE task_id = $1 AND sequence = 1",
    [task.id],
    deadline,
  );
  return { recoveredAfterMs: seen ? Date.now() - faultAt : undefined, acknowledgedAfterMs };
}

export async function probeRecurrence(options: {
  user: ApiUser;
  task: TaskBody;
  db: FaultDatabase;
  acknowledgements: Acknowledgements;
  faultAt: number;
  timeoutMs: number;
}): Promise<ProbeOutcome> {
  const { user, task, db, faultAt } = options;
  const deadline = faultAt + options.timeoutMs;
  const completed = await untilAcknowledged(async () => {
    const res = await user.completeTask(task.id, task.version);
    if (res.status === 200 && isTaskBody(res.body)) return res.body;
    if (res.status === 412) {
      // An earlier attempt committed without an answer: it is completed already.
      const current = await user.getTask(task.id);
      if (current.status === 200 && isTaskBody(current.body) && current.body.completed) return current.body;
    }
    return undefined;
  }, deadline);
  if (!completed) return { recoveredAfterMs: undefined, acknowledgedAfterMs: undefined };
  if (completed.version > task.version) options.acknowledgements.record(user, "complete", completed, true);
  const acknowledgedAfterMs = Date.now() - faultAt;
  const seen = await waitForRow(
    db,
    "SELECT 1 FROM tasks WHERE user_id = $1 AND occurrence_key LIKE $2",
    [user.id, `${task.id}/%`],
    deadline,
  );
  return { recoveredAfterMs: seen ? Date.now() - faultAt : undefined, acknowledgedAfterMs };
}
