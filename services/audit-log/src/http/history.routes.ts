import { BadRequestError, decodeCursor, encodeCursor, issuesFromZod, parseQuery } from "@taskmesh/core";
import express, { type Router } from "express";
import { z } from "zod";
import type { ReadHistory } from "../domain/read-history.use-case.ts";

const paramsSchema = z.object({ taskId: z.uuid() });

const querySchema = z.strictObject({
  /** The task's owner, as task-api authenticated them; other users' entries are never returned. */
  userId: z.string().min(1).max(200),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const cursorSchema = z.strictObject({ s: z.number().int(), e: z.uuid() });

/**
 * `GET /internal/tasks/:taskId/history?userId=&cursor=&limit=`: a task's history for its owner,
 * ordered by sequence, a page at a time. Only task-api calls it (service invocation through the
 * sidecars; the app token is checked in app.ts), after authenticating the user.
 */
export function historyRoutes(readHistory: ReadHistory): Router {
  const router = express.Router();
  router.get("/internal/tasks/:taskId/history", async (req, res) => {
    const params = paramsSchema.safeParse(req.params);
    if (!params.success) {
      const issues = issuesFromZod(params.error, "path");
      throw new BadRequestError("taskId must be a UUID.", { issues });
    }
    const query = parseQuery(querySchema, req);
    const after = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor);
    const page = await readHistory({
      userId: query.userId,
      taskId: params.data.taskId.toLowerCase(),
      after: after && { sequence: after.s, eventId: after.e },
      limit: query.limit,
    });
    res.json({
      data: page.data.map((entry) => ({
        eventId: entry.eventId,
        type: entry.type,
        sequence: entry.sequence,
        occurredAt: entry.occurredAt.toISOString(),
        actor: entry.actor,
        changes: entry.changes,
      })),
      nextCursor: page.next ? encodeCursor({ s: page.next.sequence, e: page.next.eventId }) : null,
    });
  });
  return router;
}
