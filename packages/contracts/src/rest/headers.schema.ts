/** Path parameters and request headers the REST operations share. */
import { z } from "zod";
import "zod-openapi";

export const idParams = z.object({ id: z.string().meta({ description: "Resource id." }) });

export const ifMatchHeader = z.object({
  "if-match": z
    .string()
    .optional()
    .meta({ description: "The ETag you last saw; 412 if the resource changed since.", examples: ['"3"'] }),
});
export const idempotencyHeader = z.object({
  "idempotency-key": z.string().optional().meta({
    description:
      "1-255 visible ASCII characters. Retries with the same key and body replay the first response for 24 h; another body is 422.",
    // What runPost (task-api http/idempotency.ts) accepts; documented so generators send valid keys.
    pattern: "^[\\x21-\\x7E]{1,255}$",
  }),
});
