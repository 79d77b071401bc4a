import { parseBody } from "@taskmesh/core";
import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId } from "../auth/authenticate.ts";
import type { IdempotentWrite } from "../domain/idempotent-write.use-case.ts";
import type { ListUseCases } from "../domain/list.use-cases.ts";
import { runPost } from "./idempotency.ts";
import { keysetPage } from "./keyset-page.ts";
import { etag, pathId } from "./parse.ts";
import { writeTarget } from "./write-target.ts";
import { createListBody, updateListBody } from "@taskmesh/contracts";

export function listRoutes(lists: ListUseCases, write: IdempotentWrite): Router {
  const router = express.Router();

  router.get(
    "/lists",
    keysetPage("after", z.uuid(), (res, after, limit) => lists.page(currentUserId(res), after, limit)),
  );

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
    const { userId, id, version } = writeTarget(req, res, "List");
    const { name } = parseBody(updateListBody, req);
    const list = await lists.rename(userId, id, name, version);
    res.setHeader("ETag", etag(list.version)).json(list);
  });

  router.delete("/lists/:id", async (req, res) => {
    const { userId, id, version, actor } = writeTarget(req, res, "List");
    await lists.remove(userId, id, version, actor);
    res.status(204).end();
  });

  return router;
}
