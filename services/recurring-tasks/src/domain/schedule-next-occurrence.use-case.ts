import { EVENT_TYPES, type CreateTaskBody, type TaskEventData } from "@taskmesh/contracts";
import { AppError, NotFoundError, UnavailableError } from "@taskmesh/core";
import { dateIn, nextOccurrence } from "@taskmesh/recurrence";
import type { ProcessedEvents } from "@taskmesh/dapr";

/**
 * The body of `POST /v1/tasks` for a next occurrence: the REST contract's CreateTask, with every
 * field given and a due date (an instant, or for an all-day task its local date) and a rule.
 */
export type NewTask = Required<
  Pick<CreateTaskBody, "title" | "description" | "priority" | "tags" | "listId" | "allDay" | "remindAt">
> & { dueAt: string; recurrence: string };

/**
 * task-api as recurring-tasks uses it, acting for a task's owner. What task-api answers comes
 * back as the AppError family, so callers never see a status code:
 * - UnavailableError: transient (the sidecar or task-api unreachable, 5xx, 408, 409, 429);
 * - NotFoundError: the series has nowhere to go (the owner's account or the task's list is gone);
 * - ForbiddenError, InvalidError: refused, and would be refused again.
 */
export interface TaskApi {
  /** The owner's IANA time zone (GET /v1/me). */
  timeZoneOf(userId: string): Promise<string>;
  /**
   * Creates the task unless one with this occurrence key exists already (POST /v1/tasks):
   * `created` says which.
   */
  createOccurrence(
    userId: string,
    occurrenceKey: string,
    task: NewTask,
  ): Promise<{ id: string; created: boolean }>;
}

/** What became of one task event. */
export type ScheduleOutcome =
  /** The next task was created now, or had been before (same occurrence key). */
  | { status: "created" | "existing"; taskId: string; nextTaskId: string; dueAt: string }
  /** Not the completion of a recurring task: nothing to do. */
  | { status: "not-recurring" }
  /** Handled before (the state store's fast path). */
  | { status: "already-handled" }
  /** The completed task was the last of its series. */
  | { status: "series-ended"; taskId: string; reason: string }
  /** The series cannot go on and nothing is wrong: its owner or its list was deleted. */
  | { status: "skipped"; taskId: string; reason: string }
  /** The event or task-api's answer says this can never succeed. */
  | { status: "refused"; taskId: string; reason: string };

export interface TaskEventInput {
  id: string;
  type: string;
  data: TaskEventData;
}

/**
 * "<completed task id>/<its dueAt>": names one occurrence of one series. task-api keeps it
 * unique per user, so every delivery of the completion, every replica and every
 * complete/reopen/complete of the same task asks for the same next task, and gets it once.
 */
export function occurrenceKeyOf(task: { id: string; dueAt: string }): string {
  return `${task.id}/${new Date(task.dueAt).toISOString()}`;
}

/** What a refusal of task-api says, with the answer behind it (the client keeps it as the cause). */
function reasonOf(err: AppError): string {
  const answer = err.cause instanceof Error ? err.cause.message : undefined;
  return answer === undefined || answer === err.message ? err.message : `${err.message} ${answer}`;
}

/**
 * On task.completed of a task with a recurrence and a dueAt, creates the series' next task
 * through task-api, as the owner, in the owner's time zone (see nextOccurrence). What it copies:
 * title, description, priority, tags, list, recurrence (COUNT counted down), allDay, and the
 * reminder at the same wall-clock lead. Not copied: subtasks (each recurring subtask has its
 * own series), and the parent: the next task of a recurring subtask is a top-level task in the
 * same list, because creating a subtask under the completed parent would reopen the parent.
 *
 * Throws UnavailableError when task-api or the sidecar cannot be reached (the caller retries).
 */
export function createScheduleNextOccurrence(deps: { taskApi: TaskApi; processed: ProcessedEvents }) {
  const { taskApi, processed } = deps;

  /**
   * Runs a call to task-api. A NotFoundError means the series has nowhere to go (its owner or
   * its list is gone) and nothing is wrong: skipped, and remembered. Any other refusal can
   * never succeed: refused. UnavailableError and anything unexpected go up (the caller retries).
   */
  async function calling<T>(
    eventId: string,
    taskId: string,
    call: () => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; outcome: ScheduleOutcome }> {
    try {
      return { ok: true, value: await call() };
    } catch (err) {
      if (!(err instanceof AppError) || err instanceof UnavailableError) throw err;
      if (!(err instanceof NotFoundError))
        return { ok: false, outcome: { status: "refused", taskId, reason: reasonOf(err) } };
      await processed.remember(eventId);
      return { ok: false, outcome: { status: "skipped", taskId, reason: reasonOf(err) } };
    }
  }

  return async function scheduleNextOccurrence(event: TaskEventInput): Promise<ScheduleOutcome> {
    const task = event.data.task;
    if (event.type !== EVENT_TYPES.taskCompleted || task.recurrence === null || task.dueAt === null)
      return { status: "not-recurring" };
    if (await processed.has(event.id)) return { status: "already-handled" };

    const zone = await calling(event.id, task.id, () => taskApi.timeZoneOf(task.userId));
    if (!zone.ok) return zone.outcome;

    const next = nextOccurrence(
      {
        dueAt: new Date(task.dueAt),
        allDay: task.allDay,
        recurrence: task.recurrence,
        remindAt: task.remindAt === null ? null : new Date(task.remindAt),
      },
      zone.value,
    );
    // A rule that cannot be computed (not one task-api accepts, or no next task within the
    // search's bounds, e.g. fine in UTC but not in the owner's zone) can never succeed: every
    // redelivery would compute the same. The search is bounded (milliseconds), so no replica
    // ever blocks on it; the event is refused, which the route answers DROP.
    if (next.kind === "invalid" || next.kind === "unevaluable")
      return { status: "refused", taskId: task.id, reason: next.reason };
    if (next.kind === "ended") {
      await processed.remember(event.id);
      return { status: "series-ended", taskId: task.id, reason: next.reason };
    }

    const { occurrence } = next;
    const body: NewTask = {
      title: task.title,
      description: task.description,
      priority: task.priority,
      tags: task.tags,
      listId: task.listId,
      // An all-day task is sent as its date, which task-api anchors in the owner's zone itself.
      dueAt: occurrence.allDay ? dateIn(occurrence.dueAt, zone.value) : occurrence.dueAt.toISOString(),
      allDay: occurrence.allDay,
      recurrence: occurrence.recurrence,
      remindAt: occurrence.remindAt?.toISOString() ?? null,
    };
    const key = occurrenceKeyOf({ id: task.id, dueAt: task.dueAt });
    const created = await calling(event.id, task.id, () => taskApi.createOccurrence(task.userId, key, body));
    if (!created.ok) return created.outcome;
    await processed.remember(event.id);
    return {
      status: created.value.created ? "created" : "existing",
      taskId: task.id,
      nextTaskId: created.value.id,
      dueAt: occurrence.dueAt.toISOString(),
    };
  };
}

export type ScheduleNextOccurrence = ReturnType<typeof createScheduleNextOccurrence>;
