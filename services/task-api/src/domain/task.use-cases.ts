import { InvalidError, NotFoundError, type FieldIssue } from "@taskmesh/core";
import { allDayAnchor, isDateOnly, startOfDate, validateRecurrence } from "@taskmesh/recurrence";
import type {
  CursorPosition,
  Repositories,
  SortTerm,
  Store,
  TaskFields,
  TaskFilter,
  TaskPage,
  TaskRecord,
  TaskView,
  UnitOfWork,
} from "./ports.ts";
import { confirmQuota, DEFAULT_QUOTAS, reserveTagQuota, type Quotas } from "./quotas.ts";
import { recordTaskChanges } from "./task-change-recorder.ts";
import { userActor, type Actor } from "./task-events.ts";
import { lockedAt, versionedWrite, type WriteTarget } from "./versioned.ts";

/** What a client may set on a task; absent = unchanged, null = cleared. */
export interface TaskInput {
  title?: string;
  description?: string | null;
  priority?: TaskView["priority"];
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
  repos: Repositories,
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
  const timeZone = needsZone ? ((await repos.users.timeZone(userId)) ?? "UTC") : "UTC";
  Object.assign(fields, resolveDue(input, current ?? { dueAt: null, allDay: false }, timeZone, issues));

  let parentListId: string | null | undefined;
  if (input.parentId !== undefined && input.parentId !== null) {
    const parent =
      input.parentId === current?.id ? undefined : await repos.tasks.findParent(userId, input.parentId);
    if (input.parentId === current?.id) issues.push(issue("parentId", "cannot be the task itself"));
    else if (!parent) issues.push(issue("parentId", "does not name one of your tasks"));
    else if (parent.parentId !== null)
      issues.push(issue("parentId", "is itself a subtask: subtasks have one level"));
    else if (current && (await repos.tasks.hasSubtasks(userId, current.id)))
      issues.push(issue("parentId", "cannot be set on a task that has subtasks"));
    else parentListId = parent.listId;
    fields.parentId = input.parentId;
  } else if (input.parentId === null) {
    fields.parentId = null;
  } else if (input.listId !== undefined && current?.parentId) {
    // A subtask that keeps its parent keeps its parent's list.
    parentListId = (await repos.tasks.findParent(userId, current.parentId))?.listId ?? null;
  }

  if (input.listId !== undefined) {
    if (input.listId !== null && !(await repos.lists.exists(userId, input.listId))) {
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

async function viewAfterWrite(repos: Repositories, userId: string, id: string): Promise<TaskView> {
  const view = await repos.tasks.findView(userId, id);
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
async function reopenParent(repos: Repositories, userId: string, parentId: string): Promise<void> {
  const parent = await repos.tasks.lock(userId, parentId);
  if (parent?.completed) await repos.tasks.update(userId, parent.id, { completed: false, completedAt: null });
}

export function createTaskUseCases(
  store: Store,
  clock: () => Date = () => new Date(),
  quotas: Quotas = DEFAULT_QUOTAS,
) {
  const locked = (repos: Repositories, userId: string, id: string, expectedVersion: number | undefined) =>
    lockedAt("task", repos.tasks.lock(userId, id), expectedVersion);
  const subtasksOf = (repos: Repositories, userId: string, id: string) =>
    repos.tasks.findIds({ userId, parentId: id });

  const taskWrite = <T>(
    write: (repos: Repositories, current: TaskRecord, target: WriteTarget) => Promise<T>,
  ) => versionedWrite("task", store, (repos, userId, id) => repos.tasks.lock(userId, id), write);

  /** complete (with the task's open subtasks) and reopen (with its completed parent), each idempotent. */
  const setCompleted = (completed: boolean) =>
    taskWrite(async (repos, current, { userId, id, actor }): Promise<TaskView> => {
      if (current.completed === completed) return viewAfterWrite(repos, userId, id);
      const now = clock();
      const watched = completed ? [id, ...(await subtasksOf(repos, userId, id))] : [id, current.parentId];
      const tasks = await recordTaskChanges(repos, userId, actor, watched, now, async () => {
        await repos.tasks.update(userId, id, { completed, completedAt: completed ? now : null });
        if (completed) await repos.tasks.completeSubtasks(userId, id, now);
        else if (current.parentId !== null) await reopenParent(repos, userId, current.parentId);
      });
      return present(tasks, id);
    });

  return {
    async get(userId: string, id: string): Promise<TaskView> {
      const view = await store.read.tasks.findView(userId, id);
      if (!view) throw new NotFoundError("Task");
      return view;
    },

    list(userId: string, query: TaskListQuery): Promise<TaskPage> {
      return store.read.tasks.findPage(userId, query.filter, query.sort, query.cursor, query.limit);
    },

    /**
     * Creates a task. With an occurrence key (a recurring series' next task, created by
     * recurring-tasks), a second create with the same key creates nothing and returns the
     * task the first one made, with `created: false` and no event.
     */
    create(
      userId: string,
      input: TaskInput & { title: string },
      options: { actor?: Actor; occurrenceKey?: string | undefined } = {},
      within: UnitOfWork = store.transaction,
    ): Promise<{ task: TaskView; created: boolean }> {
      return within(async (repos) => {
        const fields = await prepareFields(repos, userId, input, undefined);
        const { occurrenceKey } = options;
        if (input.tags?.length) await reserveTagQuota(repos, quotas, userId, input.tags);
        let id: string | undefined;
        const tasks = await recordTaskChanges(
          repos,
          userId,
          options.actor ?? userActor(userId),
          [fields.parentId],
          clock(),
          async () => {
            const values = { ...fields, title: input.title };
            id =
              occurrenceKey === undefined
                ? await repos.tasks.insert(userId, values)
                : await repos.tasks.insertOnce(userId, values, occurrenceKey);
            if (id === undefined) return [];
            if (input.tags?.length) await repos.tags.replaceTaskTags(userId, id, input.tags);
            if (fields.parentId) await reopenParent(repos, userId, fields.parentId);
            return [id];
          },
        );
        if (id !== undefined) {
          // Checked last, so the user's quota lock is held for a count and the commit only (the
          // per-user lock was what bounded one user's create rate). A recurring series' next
          // task counts like any other: at the quota it is refused (422), and recurring-tasks
          // drops that event (logged); an occurrence that exists already is answered as before,
          // quota or not.
          await confirmQuota(repos, quotas, userId, "tasks");
          return { task: present(tasks, id), created: true };
        }
        // The occurrence exists (committed by an earlier or a concurrent create).
        const existing =
          occurrenceKey === undefined
            ? undefined
            : await repos.tasks.findIdByOccurrenceKey(userId, occurrenceKey);
        if (existing === undefined) throw new Error("an occurrence key conflicted with no task");
        return { task: await viewAfterWrite(repos, userId, existing), created: false };
      });
    },

    update(
      userId: string,
      id: string,
      input: TaskInput,
      expectedVersion?: number,
      actor: Actor = userActor(userId),
      within: UnitOfWork = store.transaction,
    ): Promise<TaskView> {
      return within(async (repos) => {
        const current = await locked(repos, userId, id, expectedVersion);
        const fields = await prepareFields(repos, userId, input, current);
        const changed = Object.keys(fields).length > 0 || input.tags !== undefined;
        if (!changed) return viewAfterWrite(repos, userId, id);
        if (input.tags?.length) await reserveTagQuota(repos, quotas, userId, input.tags);
        // Subtasks change only when the list moves (they follow their parent).
        const listMoves = fields.listId !== undefined && fields.listId !== current.listId;
        const watched = [
          id,
          current.parentId,
          fields.parentId,
          ...(listMoves ? await subtasksOf(repos, userId, id) : []),
        ];
        const tasks = await recordTaskChanges(repos, userId, actor, watched, clock(), async () => {
          await repos.tasks.update(userId, id, fields);
          if (input.tags !== undefined) await repos.tags.replaceTaskTags(userId, id, input.tags);
          if (fields.parentId && !current.completed) await reopenParent(repos, userId, fields.parentId);
          // Subtasks follow their parent to another list.
          if (listMoves) await repos.tasks.moveSubtasks(userId, id, fields.listId ?? null);
        });
        return present(tasks, id);
      });
    },

    /** Completing is idempotent; completing a parent completes its open subtasks. */
    complete: setCompleted(true),

    /** Reopening is idempotent; reopening a subtask of a completed parent reopens the parent. */
    reopen: setCompleted(false),

    /** Deletes the task and its subtasks. */
    remove: taskWrite(async (repos, _task, { userId, id, actor }): Promise<void> => {
      const watched = [id, ...(await subtasksOf(repos, userId, id))];
      await recordTaskChanges(repos, userId, actor, watched, clock(), async () => {
        await repos.tasks.delete(userId, id);
      });
    }),
  };
}

export type TaskUseCases = ReturnType<typeof createTaskUseCases>;
