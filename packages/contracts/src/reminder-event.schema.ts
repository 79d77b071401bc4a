import { z } from "zod";
import { userIdSchema } from "./task-event.schema.ts";

const instant = z.iso.datetime();

export const reminderDueDataSchema = z
  .object({
    taskId: z.uuid(),
    userId: userIdSchema.meta({ description: "The task's owner." }),
    remindAt: instant.meta({ description: "The reminder time that came due." }),
    title: z.string().min(1).max(200),
    dueAt: instant.nullable(),
    firedAt: instant.meta({ description: "When notifications fired the reminder." }),
  })
  .meta({ description: "The data of reminder.due: a task's reminder came due." });

export type ReminderDueData = z.infer<typeof reminderDueDataSchema>;
