import { EVENT_TYPES, type TaskEvent } from "@taskmesh/contracts";

/** What a reminder row holds of its task, whichever way the event changed it. */
interface ReminderFields {
  taskId: string;
  userId: string;
  sequence: number;
  /** When cancelled: the reminder time the task had, kept on the row (the column is required). */
  remindAt: Date;
  title: string;
  dueAt: Date | null;
}

/** A task's reminder as a task event leaves it. */
export type ReminderChange =
  | (ReminderFields & { kind: "schedule" })
  | (ReminderFields & {
      kind: "cancel";
      /**
       * Whether a row must be written even when the task has none yet: only for tasks that had
       * a reminder, so a late older event cannot bring it back (the row's sequence guards it).
       */
      remember: boolean;
    });

/**
 * What a task event means for the task's pending reminder: a deleted or completed task, or one
 * without remindAt, has none; otherwise the reminder is at remindAt (firing at once when
 * remindAt has passed and it has not fired for that time).
 */
export function reminderChangeFor(event: TaskEvent): ReminderChange {
  const { task, taskId, userId, sequence, changes } = event.data;
  const dueAt = task.dueAt === null ? null : new Date(task.dueAt);
  const remindAt = task.remindAt;
  if (event.type !== EVENT_TYPES.taskDeleted && !task.completed && remindAt !== null) {
    return {
      kind: "schedule",
      taskId,
      userId,
      sequence,
      remindAt: new Date(remindAt),
      title: task.title,
      dueAt,
    };
  }
  const previous = changes.remindAt?.from;
  const had = remindAt ?? (typeof previous === "string" ? previous : null);
  return {
    kind: "cancel",
    taskId,
    userId,
    sequence,
    remindAt: new Date(had ?? event.data.occurredAt),
    title: task.title,
    dueAt,
    remember: had !== null,
  };
}
