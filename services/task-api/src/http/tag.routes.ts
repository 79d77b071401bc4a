import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId } from "../auth/authenticate.ts";
import type { TagUseCases } from "../domain/tag.use-cases.ts";
import { decodeCursor, encodeCursor, parseQuery } from "./parse.ts";
import { pageQuery } from "@taskmesh/contracts";

const cursorSchema = z.object({ after: z.string() });

export function tagRoutes(tags: TagUseCases): Router {
  const router = express.Router();
  router.get("/tags", async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const after = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor).after;
    const page = await tags.page(currentUserId(res), after, query.limit);
    res.json({
      data: page.data,
      nextCursor: page.next !== undefined ? encodeCursor({ after: page.next }) : null,
    });
  });
  return router;
}
