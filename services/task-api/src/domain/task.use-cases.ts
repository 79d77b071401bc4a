import { InvalidError, NotFoundError, PreconditionFailedError, type FieldIssue } from "@taskmesh/core";
import type { Priority } from "@taskmesh/db";
import { allDayAnchor, isDateOnly, startOfDate, validateRecurrence } from "@taskmesh/recurrence";
import { txSql, type Database, type Tx } from "../data/database.ts";
import { listExists } from "../data/list.repository.ts";
import { replaceTaskTags } from "../data/tag.repository.ts";
import {
  completeSubtasks,
  deleteTask,
  findParent,
  findTaskIds,
  findTaskPage,
  findTaskIdByOccurrenceKey,
  findTaskView,
  hasSubtasks,
  insertTask,
  insertTaskOnce,
  lockTask,
  updateTask,
  type TaskFields,
  type TaskPage,
  type TaskRecord,
  type TaskView,
} from "../data/task.repository.ts";
import type { CursorPosition, SortTerm, TaskFilter } from "../data/task-query.ts";
import { userTimeZone } from "../data/user.repository.ts";
import { DEFAULT_QUOTAS, reserveQuota, reserveTagQuota, type Quotas } from "./quotas.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { userActor, type Actor } from "./task-events.ts";

/** What a client may set on a task; absent = unchanged, null = cleared. */
export interface TaskInput {
  title?: string;
  description?: string | null;
  priority?: Priority;
  tags?: string[];
  listId?: string | null;
  parentId?: string | null;
  /** An instant (date-time with offset) or a calendar date (YYYY-MM-DD, implies allDay). */
  dueAt?: string | null;
  allDay?: boolean;
  recurrence?: string | null;
  remindAt?: string | null;
}

const issue = (field: string, detail: string): FieldIssue => ({ pointer: `/${field}`, in: "body", detail });

function invalid(issues: FieldIssue[]): InvalidError {
  return new InvalidError(issues.map((i) => `${i.pointer.slice(1)} ${i.detail}`).join("; "), issues);
}

function checkVersion(record: { version: number }, expected: number | undefined): void {
  if (expected !== undefined && record.version !== expected) {
    throw new PreconditionFailedError(
      `The task is at version ${record.version}, not ${expected}: fetch it again and reapply the change.`,
      { extensions: { currentVersion: record.version } },
    );
  }
}

/** Resolves dueAt/allDay against the current values and the owner's time zone. */
function resolveDue(
  input: TaskInput,
  current: { dueAt: Date | null; allDay: boolean },
  timeZone: string,
  issues: FieldIssue[],
): { dueAt?: Date | null; allDay?: boolean } {
  const { dueAt, allDay } = input;
  if (dueAt === undefined && allDay === undefined) return {};
  if (dueAt === null) {
    if (allDay === true) issues.push(issue("allDay", "needs a dueAt"));
    return { dueAt: null, allDay: false };
  }
  if (dueAt !== undefined) {
    if (isDateOnly(dueAt)) {
      if (allDay === false) issues.push(issue("allDay", "cannot be false with a date-only dueAt"));
      return { dueAt: startOfDate(dueAt, timeZone), allDay: true };
    }
    const instant = new Date(dueAt);
    return allDay === true
      ? { dueAt: allDayAnchor(instant, timeZone), allDay: true }
      : { dueAt: instant, allDay: false };
  }
  // Only allDay changes: keep the date, re-anchor to the start of that day when turning on.
  if (current.dueAt === null) {
    if (allDay === true) issues.push(issue("allDay", "needs a dueAt"));
    return { allDay: false };
  }
  return allDay === true ? { dueAt: allDayAnchor(current.dueAt, timeZone), allDay: true } : { allDay: false };
}

/**
 * Validates a create or update against the rules that need the database (ownership of
 * the list and parent, one level of subtasks) and turns the input into stored fields.
 */
async function prepareFields(
  tx: Tx,
  userId: string,
  input: TaskInput,
  current: TaskRecord | undefined,
): Promise<TaskFields> {
  const issues: FieldIssue[] = [];
  const fields: TaskFields = {};
  if (input.title !== undefined) fields.title = input.title;
  if (input.description !== undefined) fields.description = input.description;
  if (input.priority !== undefined) fields.priority = input.priority;
  if (input.remindAt !== undefined)
    fields.remindAt = input.remindAt === null ? null : new Date(input.remindAt);
  // The owner's zone matters for all-day dates, and for a recurrence to be validated: its
  // series is the one recurring-tasks computes there.
  const validatesRecurrence =
    (input.recurrence !== undefined && input.recurrence !== null) ||
    (input.dueAt !== undefined && input.recurrence === undefined && (current?.recurrence ?? null) !== null);
  const needsZone =
    (input.dueAt !== undefined && input.dueAt !== null && isDateOnly(input.dueAt)) ||
    input.allDay === true ||
    validatesRecurrence;
  const timeZone = needsZone ? ((await userTimeZone(tx, userId)) ?? "UTC") : "UTC";
  Object.assign(fields, resolveDue(input, current ?? { dueAt: null, allDay: false }, timeZone, issues));

  let parentListId: string | null | undefined;
  if (input.parentId !== undefined && input.parentId !== null) {
    const parent = input.parentId === current?.id ? undefined : await findParent(tx, userId, input.parentId);
    if (input.parentId === current?.id) issues.push(issue("parentId", "cannot be the task itself"));
    else if (!parent) issues.push(issue("parentId", "does not name one of your tasks"));
    else if (parent.parentId !== null)
      issues.push(issue("parentId", "is itself a subtask: subtasks have one level"));
    else if (current && (await hasSubtasks(tx, userId, current.id)))
      issues.push(issue("parentId", "cannot be set on a task that has subtasks"));
    else parentListId = parent.listId;
    fields.parentId = input.parentId;
  } else if (input.parentId === null) {
    fields.parentId = null;
  } else if (input.listId !== undefined && current?.parentId) {
    // A subtask that keeps its parent keeps its parent's list.
    parentListId = (await findParent(tx, userId, current.parentId))?.listId ?? null;
  }

  if (input.listId !== undefined) {
    if (input.listId !== null && !(await listExists(tx, userId, input.listId))) {
      issues.push(issue("listId", "does not name one of your lists"));
    }
    fields.listId = input.listId;
  }
  // A subtask lives in its parent's list.
  if (parentListId !== undefined) {
    if (input.listId !== undefined && input.listId !== parentListId)
      issues.push(issue("listId", "must be the parent task's list"));
    fields.listId = parentListId;
  }

  const recurrence = input.recurrence !== undefined ? input.recurrence : (current?.recurrence ?? null);
  const dueAt = fields.dueAt !== undefined ? fields.dueAt : (current?.dueAt ?? null);
  if (recurrence !== null && (input.recurrence !== undefined || fields.dueAt !== undefined)) {
    if (dueAt === null) {
      issues.push(
        issue(input.recurrence !== undefined ? "recurrence" : "dueAt", "a recurring task needs a dueAt"),
      );
    } else {
      const allDay = fields.allDay ?? current?.allDay ?? false;
      const parsed = validateRecurrence(recurrence, { dueAt, allDay, timeZone });
      if (parsed.ok) fields.recurrence = parsed.value;
      else if ("kind" in parsed) issues.push(issue("recurrence", `is refused: it ${parsed.reason}`));
      else issues.push(issue("recurrence", `is not a valid RFC 5545 RRULE: it ${parsed.reason}`));
    }
  } else if (input.recurrence === null) {
    fields.recurrence = null;
  }

  if (issues.length > 0) throw invalid(issues);
  return fields;
}

async function viewAfterWrite(tx: Tx, userId: string, id: string): Promise<TaskView> {
  const view = await findTaskView(txSql(tx), userId, id);
  if (!view) throw new Error(`task ${id} vanished inside its own transaction`);
  return view;
}

function present(tasks: Map<string, TaskView>, id: string): TaskView {
  const view = tasks.get(id);
  if (!view) throw new Error(`task ${id} vanished inside its own transaction`);
  return view;
}

export interface TaskListQuery {
  filter: TaskFilter;
  sort: SortTerm[];
  cursor: CursorPosition | undefined;
  limit: number;
}

/** A parent is done only when its subtasks are: an open subtask reopens a completed parent. */
async function reopenParent(tx: Tx, userId: string, parentId: string): Promise<void> {
  const parent = await lockTask(tx, userId, parentId);
  if (parent?.completed) await updateTask(tx, userId, parent.id, { completed: false, completedAt: null });
}

export function createTaskUseCases(
  db: Database,
  clock: () => Date = () => new Date(),
  quotas: Quotas = DEFAULT_QUOTAS,
) {
  async function locked(
    tx: Tx,
    userId: string,
    id: string,
    expectedVersion: number | undefined,
  ): Promise<TaskRecord> {
    const record = await lockTask(tx, userId, id);
    if (!record) throw new NotFoundError("Task");
    checkVersion(record, expectedVersion);
    return record;
  }

  const subtasksOf = (tx: Tx, userId: string, id: string) => findTaskIds(tx, { userId, parentId: id });

  return {
    async get(userId: string, id: string): Promise<TaskView> {
      const view = await findTaskView(db.read, userId, id);
      if (!view) throw new NotFoundError("Task");
      return view;
    },

    list(userId: string, query: TaskListQuery): Promise<TaskPage> {
      return findTaskPage(db.read, userId, query.filter, query.sort, query.cursor, query.limit);
    },

    /**
     * Creates a task. With an occurrence key (a recurring series' next task, created by
     * recurring-tasks), a second create with the same key creates nothing and returns the
     * task the first one made, with `created: false` and no event.
     */
    async create(
      tx: Tx,
      userId: string,
      input: TaskInput & { title: string },
      options: { actor?: Actor; occurrenceKey?: string | undefined } = {},
    ): Promise<{ task: TaskView; created: boolean }> {
      const fields = await prepareFields(tx, userId, input, undefined);
      const { occurrenceKey } = options;
      // A recurring series' next task counts like any other: at the quota it is refused (422),
      // and recurring-tasks drops that event (logged); an occurrence that exists already is
      // answered as before, quota or not.
      const exists =
        occurrenceKey !== undefined &&
        (await findTaskIdByOccurrenceKey(tx, userId, occurrenceKey)) !== undefined;
      if (!exists) await reserveQuota(tx, quotas, userId, "tasks");
      if (input.tags?.length) await reserveTagQuota(tx, quotas, userId, input.tags);
      let id: string | undefined;
      const tasks = await recordTaskChanges(
        tx,
        userId,
        options.actor ?? userActor(userId),
        [fields.parentId],
        async () => {
          const values = { ...fields, title: input.title };
          id =
            occurrenceKey === undefined
              ? await insertTask(tx, userId, values)
              : await insertTaskOnce(tx, userId, values, occurrenceKey);
          if (id === undefined) return [];
          if (input.tags?.length) await replaceTaskTags(tx, userId, id, input.tags);
          if (fields.parentId) await reopenParent(tx, userId, fields.parentId);
          return [id];
        },
        clock(),
      );
      if (id !== undefined) return { task: present(tasks, id), created: true };
      // The occurrence exists (committed by an earlier or a concurrent create).
      const existing =
        occurrenceKey === undefined ? undefined : await findTaskIdByOccurrenceKey(tx, userId, occurrenceKey);
      if (existing === undefined) throw new Error("an occurrence key conflicted with no task");
      return { task: await viewAfterWrite(tx, userId, existing), created: false };
    },

    async update(
      tx: Tx,
      userId: string,
      id: string,
      input: TaskInput,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
    ): Promise<TaskView> {
      const current = await locked(tx, userId, id, expectedVersion);
      const fields = await prepareFields(tx, userId, input, current);
      const changed = Object.keys(fields).length > 0 || input.tags !== undefined;
      if (!changed) return viewAfterWrite(tx, userId, id);
      if (input.tags?.length) await reserveTagQuota(tx, quotas, userId, input.tags);
      // Subtasks change only when the list moves (they follow their parent).
      const listMoves = fields.listId !== undefined && fields.listId !== current.listId;
      const watched = [
        id,
        current.parentId,
        fields.parentId,
        ...(listMoves ? await subtasksOf(tx, userId, id) : []),
      ];
      const tasks = await recordTaskChanges(
        tx,
        userId,
        actor,
        watched,
        async () => {
          await updateTask(tx, userId, id, fields);
          if (input.tags !== undefined) await replaceTaskTags(tx, userId, id, input.tags);
          if (fields.parentId && !current.completed) await reopenParent(tx, userId, fields.parentId);
          // Subtasks follow their parent to another list.
          if (listMoves) {
            await tx.task.updateMany({
              where: { userId, parentId: id },
              data: { listId: fields.listId, version: { increment: 1 } },
            });
          }
          return undefined;
        },
        clock(),
      );
      return present(tasks, id);
    },

    /** Completing is idempotent; completing a parent completes its open subtasks. */
    async complete(
      tx: Tx,
      userId: string,
      id: string,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
    ): Promise<TaskView> {
      const current = await locked(tx, userId, id, expectedVersion);
      if (current.completed) return viewAfterWrite(tx, userId, id);
      const now = clock();
      const tasks = await recordTaskChanges(
        tx,
        userId,
        actor,
        [id, ...(await subtasksOf(tx, userId, id))],
        async () => {
          await updateTask(tx, userId, id, { completed: true, completedAt: now });
          await completeSubtasks(tx, userId, id, now);
          return undefined;
        },
        now,
      );
      return present(tasks, id);
    },

    /** Reopening is idempotent; reopening a subtask of a completed parent reopens the parent. */
    async reopen(
      tx: Tx,
      userId: string,
      id: string,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
    ): Promise<TaskView> {
      const current = await locked(tx, userId, id, expectedVersion);
      if (!current.completed) return viewAfterWrite(tx, userId, id);
      const tasks = await recordTaskChanges(
        tx,
        userId,
        actor,
        [id, current.parentId],
        async () => {
          await updateTask(tx, userId, id, { completed: false, completedAt: null });
          if (current.parentId !== null) await reopenParent(tx, userId, current.parentId);
          return undefined;
        },
        clock(),
      );
      return present(tasks, id);
    },

    /** Deletes the task and its subtasks. */
    async remove(
      tx: Tx,
      userId: string,
      id: string,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
    ): Promise<void> {
      await locked(tx, userId, id, expectedVersion);
      await recordTaskChanges(
        tx,
        userId,
        actor,
        [id, ...(await subtasksOf(tx, userId, id))],
        async () => {
          await deleteTask(tx, userId, id);
          return undefined;
        },
        clock(),
      );
    },
  };
}

export type TaskUseCases = ReturnType<typeof createTaskUseCases>;
