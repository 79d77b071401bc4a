import { z } from "zod";
import { actorSchema, userIdSchema } from "./task-event.schema.ts";

const instant = z.iso.datetime();

/**
 * The data of user.deleted: an account and everything it owned are gone. Only ids: the event
 * outlives the account on the broker, so it carries no name, email or other personal data.
 */
export const userDeletedDataSchema = z
  .object({
    userId: userIdSchema.meta({
      description: "The deleted account; every consumer purges what it keeps for it.",
    }),
    occurredAt: instant.meta({ description: "When the deletion was committed." }),
    actor: actorSchema,
  })
  .meta({ description: "The data of user.deleted: an account was deleted with everything it owned." });

export type UserDeletedData = z.infer<typeof userDeletedDataSchema>;
