/** The REST shapes of tags. */
import { z } from "zod";
import "zod-openapi";
import { id } from "./common.schema.ts";

export const tagName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(50)
  .regex(/^[^,\p{Cc}]+$/u, "must not contain commas or control characters")
  .meta({ description: "Tag name, 1-50 characters; unique per user ignoring case." });

export const tagSchema = z
  .object({ id, name: z.string(), openTaskCount: z.number().int() })
  .meta({ id: "Tag" });
export type Tag = z.infer<typeof tagSchema>;
