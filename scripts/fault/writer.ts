/**
 * The steady writer of a fault run: a few users create, update, complete (recurring tasks
 * too), reopen and delete tasks through task-api at a fixed rate, whatever the faults do to
 * the stack, and every change task-api acknowledged (2xx) is recorded with the per-task
 * sequence its event must carry.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { isTaskBody, type ApiResponse, type ApiUser, type TaskBody } from "./client.ts";

export type WriteOp = "create" | "update" | "complete" | "reopen" | "delete";

const EVENT_TYPE_OF: Record<WriteOp, string> = {
  create: EVENT_TYPES.taskCreated,
  update: EVENT_TYPES.taskUpdated,
  complete: EVENT_TYPES.taskCompleted,
  reopen: EVENT_TYPES.taskReopened,
  delete: EVENT_TYPES.taskDeleted,
};

/** A change task-api acknowledged: its event must reach the history exactly once. */
export interface AcknowledgedChange {
  userId: string;
  taskId: string;
  op: WriteOp;
  /** The CloudEvent type its event must have. */
  type: string;
  /** data.sequence of its event: the version after the change (delete: version + 1). */
  sequence: number;
  /** Epoch ms of the 2xx response. */
  at: number;
  /** Completion of a recurring task: the occurrence recurring-tasks must create exactly once. */
  occurrence?: { sourceTaskId: string; dueAt: string };
  /** Written by a recovery probe rather than the steady writer. */
  probe: boolean;
}

/** Every acknowledged change of the run, in acknowledgement order. */
export class Acknowledgements {
  readonly changes: AcknowledgedChange[] = [];

  record(user: ApiUser, op: WriteOp, task: TaskBody, probe: boolean): AcknowledgedChange {
    const change: AcknowledgedChange = {
      userId: user.id,
      taskId: task.id,
      op,
      type: EVENT_TYPE_OF[op],
      sequence: op === "delete" ? task.version + 1 : task.version,
      at: Date.now(),
      ...(op === "complete" && task.recurrence && task.dueAt
        ? { occurrence: { sourceTaskId: task.id, dueAt: task.dueAt } }
        : {}),
      probe,
    };
    this.changes.push(change);
    return change;
  }
}

interface TrackedTask {
  id: string;
  user: ApiUser;
  version: number;
  completed: boolean;
  recurrence: string | null;
  dueAt: string | null;
  title: string;
  /** An operation on it is in flight (one at a time, so versions stay known). */
  busy: boolean;
  /** A request failed without an answer: its version must be read again before the next write. */
  stale: boolean;
}

export interface WriterStats {
  attempted: number;
  acknowledged: number;
  byOp: Record<WriteOp, number>;
  /** Answers other than 2xx, by status (0 = no answer: refused, reset, timed out). */
  failures: Record<string, number>;
  /** Ticks skipped because maxInFlight requests were already waiting. */
  skipped: number;
  /** Tasks whose version moved without an acknowledgement (a write that failed to answer but committed). */
  unacknowledgedCommits: number;
}

export interface WriterOptions {
  users: readonly ApiUser[];
  acknowledgements: Acknowledgements;
  /** Writes started per second. */
  rate: number;
  /** Requests waiting at once; beyond that a tick is skipped (the API is slow or down). */
  maxInFlight?: number;
  /** Live tasks per user the writer keeps around. */
  tasksPerUser?: number;
  random?: () => number;
}

const RECURRENCES = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,WE,FR", "FREQ=DAILY;INTERVAL=2"];
const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;

export class Writer {
  readonly stats: WriterStats = {
    attempted: 0,
    acknowledged: 0,
    byOp: { create: 0, update: 0, complete: 0, reopen: 0, delete: 0 },
    failures: {},
    skipped: 0,
    unacknowledgedCommits: 0,
  };
  private readonly options: Required<Omit<WriterOptions, "random">> & { random: () => number };
  private readonly tasks = new Map<string, TrackedTask>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private counter = 0;

  constructor(options: WriterOptions) {
    this.options = {
      maxInFlight: 24,
      tasksPerUser: 60,
      random: Math.random,
      ...options,
    };
  }

  start(): void {
    const interval = 1000 / this.options.rate;
    let next = performance.now();
    const tick = (): void => {
      next += interval;
      if (this.inFlight.size >= this.options.maxInFlight) this.stats.skipped++;
      else {
        const work = this.writeOnce().catch(() => undefined);
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      }
      this.timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  }

  /** Stops starting writes and waits for those in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.inFlight]);
  }

  liveTasks(): number {
    return this.tasks.size;
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.options.random() * items.length)];
  }

  private async writeOnce(): Promise<void> {
    const { random } = this.options;
    const user = this.pick(this.options.users);
    if (!user) return;
    const own = [...this.tasks.values()].filter((t) => t.user === user && !t.busy);
    const few = own.length < this.options.tasksPerUser / 3;
    const many = own.length >= this.options.tasksPerUser;
    const roll = random();
    // Roughly: 25 % create, 30 % update, 20 % complete, 12 % reopen, 13 % delete (more creates while few).
    let op: WriteOp;
    if (!many && (few || roll < 0.25)) op = "create";
    else if (roll < 0.55) op = "update";
    else if (roll < 0.75) op = "complete";
    else if (roll < 0.87) op = "reopen";
    else op = "delete";

    if (op === "create") {
      await this.create(user);
      return;
    }
    const candidates = own.filter((t) =>
      op === "complete"
        ? !t.completed
        : op === "reopen"
          ? t.completed
          : // A completed recurring task stays: its occurrence is checked against it.
            op === "delete"
            ? !(t.recurrence && t.completed)
            : true,
    );
    const task = this.pick(candidates);
    if (!task) {
      if (!many) await this.create(user);
      return;
    }
    task.busy = true;
    try {
      if (task.stale && !(await this.refresh(task))) return;
      await this.change(task, op);
    } finally {
      task.busy = false;
    }
  }

  private async create(user: ApiUser): Promise<void> {
    const { random } = this.options;
    const n = ++this.counter;
    const withDue = random() < 0.7;
    const recurring = withDue && random() < 0.4;
    const due = new Date(Date.UTC(2027, 0, 1 + Math.floor(random() * 300), 9, 0, 0));
    const body: Record<string, unknown> = {
      // Unique titles: duplicate occurrences are found by (owner, title, dueAt).
      title: `fault ${n} ${randomUUID().slice(0, 8)}`,
      priority: this.pick(PRIORITIES) ?? "none",
      ...(withDue ? { dueAt: due.toISOString() } : {}),
      ...(recurring ? { recurrence: this.pick(RECURRENCES) } : {}),
    };
    this.stats.attempted++;
    const res = await user.createTask(body, randomUUID());
    if (res.status === 201 && isTaskBody(res.body)) {
      this.acknowledge(user, "create", res.body);
      this.track(user, res.body);
    } else this.fail(res);
  }

  private track(user: ApiUser, body: TaskBody): TrackedTask {
    const task: TrackedTask = {
      id: body.id,
      user,
      version: body.version,
      completed: body.completed,
      recurrence: body.recurrence,
      dueAt: body.dueAt,
      title: body.title,
      busy: false,
      stale: false,
    };
    this.tasks.set(task.id, task);
    return task;
  }

  private apply(task: TrackedTask, body: TaskBody): void {
    task.version = body.version;
    task.completed = body.completed;
    task.recurrence = body.recurrence;
    task.dueAt = body.dueAt;
    task.title = body.title;
  }

  /** Reads a task whose last write went unanswered; false when it is gone (or unreadable now). */
  private async refresh(task: TrackedTask): Promise<boolean> {
    const res = await task.user.getTask(task.id);
    if (res.status === 404) {
      // An unanswered delete that committed.
      this.stats.unacknowledgedCommits++;
      this.tasks.delete(task.id);
      return false;
    }
    if (res.status !== 200 || !isTaskBody(res.body)) return false;
    if (res.body.version !== task.version) this.stats.unacknowledgedCommits++;
    this.apply(task, res.body);
    task.stale = false;
    return true;
  }

  private async change(task: TrackedTask, op: Exclude<WriteOp, "create">): Promise<void> {
    const { random } = this.options;
    const { user } = task;
    this.stats.attempted++;
    let res: ApiResponse;
    switch (op) {
      case "update": {
        const roll = random();
        const body: Record<string, unknown> =
          roll < 0.4
            ? { title: `${task.title.split(" ~")[0] ?? task.title} ~${task.version + 1}` }
            : roll < 0.7
              ? { priority: this.pick(PRIORITIES) ?? "none" }
              : roll < 0.85 || task.dueAt === null
                ? { description: `edited ${new Date().toISOString()}` }
                : // Moving a recurring task's due date moves its next occurrence key too.
                  { dueAt: new Date(Date.parse(task.dueAt) + 86_400_000).toISOString() };
        res = await user.updateTask(task.id, task.version, body);
        break;
      }
      case "complete":
        res = await user.completeTask(task.id, task.version);
        break;
      case "reopen":
        res = await user.reopenTask(task.id, task.version);
        break;
      case "delete":
        res = await user.deleteTask(task.id, task.version);
        break;
    }
    if (op === "delete" && res.status === 204) {
      this.acknowledge(user, "delete", {
        id: task.id,
        version: task.version,
        completed: task.completed,
        dueAt: task.dueAt,
        recurrence: task.recurrence,
        title: task.title,
      });
      this.tasks.delete(task.id);
      return;
    }
    if (res.status === 200 && isTaskBody(res.body)) {
      // Complete and reopen are idempotent: an unchanged version means no change and no event.
      if (res.body.version > task.version) this.acknowledge(user, op, res.body);
      this.apply(task, res.body);
      return;
    }
    this.fail(res);
    if (res.status === 404) this.tasks.delete(task.id);
    // 412: the version moved (an unanswered write committed); no answer: unknown either way.
    else task.stale = true;
  }

  private acknowledge(user: ApiUser, op: WriteOp, body: TaskBody): void {
    this.options.acknowledgements.record(user, op, body, false);
    this.stats.acknowledged++;
    this.stats.byOp[op]++;
  }

  private fail(res: ApiResponse): void {
    const key = String(res.status);
    this.stats.failures[key] = (this.stats.failures[key] ?? 0) + 1;
  }
}
