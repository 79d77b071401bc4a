/** The REST shapes of tags. */
import { z } from "zod";
import "zod-openapi";
import { id } from "./common.schema.ts";
import { pageOf } from "./page.schema.ts";

// The controls (Unicode Cc) as ranges, not \p{Cc}: the pattern goes into the OpenAPI document,
// and generators and Python's re cannot read property escapes. The name is tested trimmed; the
// pattern also says it is not blank, so that a generator, which sees the untrimmed value, makes
// only names that are accepted: blanks (what trim removes, less the controls), then one other
// character, then any but commas and controls.
const CONTROLS = "\\x00-\\x1F\\x7F-\\x9F";
const BLANKS = "\\x20\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";
const TAG_NAME = new RegExp(`^[${BLANKS}]*[^,${CONTROLS}${BLANKS}][^,${CONTROLS}]*$`);

export const tagName = z
  .string()
  .trim()
  .min(1, "must not be blank")
  .max(50)
  .regex(TAG_NAME, "must not contain commas or control characters")
  .meta({ description: "Tag name, 1-50 characters; unique per user ignoring case." });

export const tagSchema = z
  .object({ id, name: z.string(), openTaskCount: z.number().int() })
  .meta({ id: "Tag" });
export type Tag = z.infer<typeof tagSchema>;
export const tagPageSchema = pageOf(tagSchema, "TagPage");
