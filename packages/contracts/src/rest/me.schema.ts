/** The REST shapes of the signed-in user (GET and PATCH /v1/me). */
import { z } from "zod";
import "zod-openapi";
import { instantOut, noNul } from "./common.schema.ts";

export const meSchema = z
  .object({
    id: z.uuid().meta({ description: "The user id, the same as data.userId in events." }),
    name: z.string(),
    email: z.email(),
    emailVerified: z.boolean(),
    image: z.string().nullable(),
    timeZone: z.string().meta({
      description: "IANA time zone for all-day dates and recurrences.",
      examples: ["Europe/Berlin"],
    }),
    createdAt: instantOut,
    updatedAt: instantOut,
  })
  .meta({ id: "Me" });
export type Me = z.infer<typeof meSchema>;
/** A person's display name, the same rule at sign-up and in PATCH /v1/me. */
export const personName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(100)
  .refine(noNul, "must not contain NUL characters");
export const updateMeBody = z
  .strictObject({ name: personName, timeZone: z.string().min(1).max(64) })
  .partial()
  .meta({ id: "UpdateMe" });
export type UpdateMeBody = z.infer<typeof updateMeBody>;
