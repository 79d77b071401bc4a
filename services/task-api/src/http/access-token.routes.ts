import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId, requireUserInPerson } from "../auth/authenticate.ts";
import type { AccessTokenUseCases } from "../domain/access-token.use-cases.ts";
import { decodeCursor, encodeCursor, parseBody, parseQuery, pathId } from "./parse.ts";
import { createAccessTokenBody, pageQuery } from "@taskmesh/contracts";

const cursorSchema = z.object({ before: z.uuid() });

/**
 * /v1/tokens: personal access tokens. Only the user in person (session or its own access token)
 * manages them; a token cannot mint, list or revoke tokens.
 */
export function accessTokenRoutes(tokens: AccessTokenUseCases): Router {
  const router = express.Router();
  router.use("/tokens", requireUserInPerson);

  router.post("/tokens", async (req, res) => {
    const input = parseBody(createAccessTokenBody, req);
    const created = await tokens.create(currentUserId(res), input);
    res
      .status(201)
      .setHeader("Cache-Control", "no-store")
      .setHeader("Location", `/v1/tokens/${created.id}`)
      .json(created);
  });

  router.get("/tokens", async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const before = query.cursor === undefined ? undefined : decodeCursor(cursorSchema, query.cursor).before;
    const page = await tokens.list(currentUserId(res), before, query.limit);
    res.json({
      data: page.data,
      nextCursor: page.next !== undefined ? encodeCursor({ before: page.next }) : null,
    });
  });

  router.get("/tokens/:id", async (req, res) => {
    res.json(await tokens.get(currentUserId(res), pathId(req, "Token")));
  });

  router.delete("/tokens/:id", async (req, res) => {
    await tokens.revoke(currentUserId(res), pathId(req, "Token"));
    res.status(204).end();
  });
  return router;
}
