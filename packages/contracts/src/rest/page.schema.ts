/** The one page envelope every list answers with, and the query that pages through it. */
import { z } from "zod";
import "zod-openapi";

/** `{ data, nextCursor }`: a page of `item`, documented as the component `name`. */
export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      data: z.array(item),
      nextCursor: z
        .string()
        .nullable()
        .meta({ description: "Pass as ?cursor= for the next page; null on the last page." }),
    })
    .meta({ id: name });
}
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(500).optional(),
});
