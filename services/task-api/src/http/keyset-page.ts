import { decodeCursor, encodeCursor, parseQuery } from "@taskmesh/core";
import { pageQuery } from "@taskmesh/contracts";
import type { RequestHandler, Response } from "express";
import { z } from "zod";

/**
 * A GET that answers one page of a keyset as { data, nextCursor } (lists and tags by name or id
 * `after` the last one, tokens newest first `before` it): ?cursor carries the key the previous
 * page ended at, ?limit the page size (pageQuery).
 */
export function keysetPage(
  key: "after" | "before",
  keySchema: z.ZodType<string>,
  load: (
    res: Response,
    at: string | undefined,
    limit: number,
  ) => Promise<{ data: unknown[]; next: string | undefined }>,
): RequestHandler {
  const cursorSchema = z.object({ [key]: keySchema });
  return async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const at = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor)[key];
    const page = await load(res, at, query.limit);
    res.json({
      data: page.data,
      nextCursor: page.next !== undefined ? encodeCursor({ [key]: page.next }) : null,
    });
  };
}
