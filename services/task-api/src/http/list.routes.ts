import express, { type Router } from "express";
import { z } from "zod";
import { currentActor, currentUserId } from "../auth/authenticate.ts";
import type { IdempotentWrite } from "../domain/idempotent-write.use-case.ts";
import type { ListUseCases } from "../domain/list.use-cases.ts";
import { runPost } from "./idempotency.ts";
import { decodeCursor, encodeCursor, etag, expectedVersion, parseBody, parseQuery, pathId } from "./parse.ts";
import { createListBody, pageQuery, updateListBody } from "@taskmesh/contracts";

const cursorSchema = z.object({ after: z.uuid() });

export function listRoutes(lists: ListUseCases, write: IdempotentWrite): Router {
  const router = express.Router();

  router.get("/lists", async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const after = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor).after;
    const page = await lists.page(currentUserId(res), after, query.limit);
    res.json({ data: page.data, nextCursor: page.next ? encodeCursor({ after: page.next }) : null });
  });

  router.post("/lists", async (req, res) => {
    const userId = currentUserId(res);
    const { name } = parseBody(createListBody, req);
    await runPost(write, req, res, userId, async (within) => {
      const list = await lists.create(userId, name, within);
      return {
        status: 201,
        headers: { Location: `/v1/lists/${list.id}`, ETag: etag(list.version) },
        body: list,
      };
    });
  });

  router.get("/lists/:id", async (req, res) => {
    const list = await lists.get(currentUserId(res), pathId(req, "List"));
    res.setHeader("ETag", etag(list.version)).json(list);
  });

  router.patch("/lists/:id", async (req, res) => {
    const userId = currentUserId(res);
    const id = pathId(req, "List");
    const version = expectedVersion(req);
    const { name } = parseBody(updateListBody, req);
    const list = await lists.rename(userId, id, name, version);
    res.setHeader("ETag", etag(list.version)).json(list);
  });

  router.delete("/lists/:id", async (req, res) => {
    const userId = currentUserId(res);
    const id = pathId(req, "List");
    const version = expectedVersion(req);
    await lists.remove(userId, id, version, currentActor(res));
    res.status(204).end();
  });

  return router;
}
