import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId } from "../auth/authenticate.ts";
import type { Database } from "../data/database.ts";
import { findTagPage } from "../data/tag.repository.ts";
import { decodeCursor, encodeCursor, parseQuery } from "./parse.ts";
import { pageQuery } from "@taskmesh/contracts";

const cursorSchema = z.object({ after: z.string() });

export function tagRoutes(db: Database): Router {
  const router = express.Router();
  router.get("/tags", async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const after = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor).after;
    const page = await findTagPage(db.read, currentUserId(res), after, query.limit);
    res.json({
      data: page.data,
      nextCursor: page.next !== undefined ? encodeCursor({ after: page.next }) : null,
    });
  });
  return router;
}
