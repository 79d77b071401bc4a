import { EVENT_TYPES, newEvent, type ReminderDueEvent } from "@taskmesh/contracts";
import { v5 as uuidv5 } from "uuid";

/** A reminder claimed for firing. */
export interface DueReminder {
  taskId: string;
  userId: string;
  remindAt: Date;
  title: string;
  dueAt: Date | null;
  firedAt: Date;
}

// Fixed forever: changing it would change every reminder's event id.
const REMINDER_EVENT_NAMESPACE = "5b0c3f8e-2d0e-4a51-9f3c-6f1d2b7a9e40";

/**
 * The CloudEvent id of a reminder firing, derived from the task and the reminder time, so a
 * publish repeated after a crash (or by a second replica) carries the same id and consumers
 * deduplicate it, while a new remindAt for the same task is a new reminder.
 */
export function reminderEventId(taskId: string, remindAt: Date): string {
  return uuidv5(`${taskId}/${remindAt.toISOString()}`, REMINDER_EVENT_NAMESPACE);
}

export function reminderDueEvent(reminder: DueReminder): ReminderDueEvent {
  return newEvent(
    EVENT_TYPES.reminderDue,
    {
      taskId: reminder.taskId,
      userId: reminder.userId,
      remindAt: reminder.remindAt.toISOString(),
      title: reminder.title,
      dueAt: reminder.dueAt?.toISOString() ?? null,
      firedAt: reminder.firedAt.toISOString(),
    },
    { id: reminderEventId(reminder.taskId, reminder.remindAt), time: reminder.firedAt.toISOString() },
  );
}
