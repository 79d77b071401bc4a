import { parseQuery } from "@taskmesh/core";
import express, { type Router } from "express";
import { currentUserId } from "../auth/authenticate.ts";
import type { ReadTaskHistory } from "../domain/task-history.use-case.ts";
import { pathId } from "./parse.ts";
import { historyQuery } from "@taskmesh/contracts";

/** `GET /v1/tasks/:id/history`: who changed what and when, oldest first, from audit-log. */
export function taskHistoryRoutes(readHistory: ReadTaskHistory): Router {
  const router = express.Router();
  router.get("/tasks/:id/history", async (req, res) => {
    const userId = currentUserId(res);
    const id = pathId(req, "Task");
    const query = parseQuery(historyQuery, req);
    res.json(await readHistory(userId, id, { cursor: query.cursor, limit: query.limit }));
  });
  return router;
}
