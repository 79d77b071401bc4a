/** The REST shapes of a task's history, which task-api reads from audit-log. */
import { z } from "zod";
import "zod-openapi";
import { instantOut } from "./common.schema.ts";
import { pageOf } from "./page.schema.ts";

export const historyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(500).optional().meta({ description: "nextCursor of the previous page." }),
});
export type HistoryQuery = z.infer<typeof historyQuery>;

export const historyEntrySchema = z
  .object({
    eventId: z.string().meta({ description: "The task event this entry records (its CloudEvent id)." }),
    type: z.string().meta({
      description: "The event type, e.g. dev.taskmesh.task.updated.v1.",
      examples: ["dev.taskmesh.task.updated.v1"],
    }),
    sequence: z
      .number()
      .int()
      .meta({ description: "The task's version after the change; entries come in this order." }),
    occurredAt: instantOut.meta({ description: "When the change was committed." }),
    actor: z
      .object({
        kind: z.enum(["user", "service"]),
        id: z.string().meta({ description: "A user id, or the app id of a service acting for the user." }),
      })
      .meta({ id: "Actor", description: "Who made the change." }),
    changes: z
      .record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }))
      .meta({ description: "Changed fields by name, each from -> to; empty for a creation." }),
  })
  .meta({ id: "HistoryEntry" });
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** A page of a task's history, the same `{ data, nextCursor }` envelope as every other page. */
export const historyPageSchema = pageOf(historyEntrySchema, "TaskHistory");
export type HistoryPage = z.infer<typeof historyPageSchema>;
