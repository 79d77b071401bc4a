import { parseBody } from "@taskmesh/core";
import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId, requireUserInPerson } from "../auth/authenticate.ts";
import type { AccessTokenUseCases } from "../domain/access-token.use-cases.ts";
import { keysetPage } from "./keyset-page.ts";
import { pathId } from "./parse.ts";
import { createAccessTokenBody } from "@taskmesh/contracts";

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

  router.get(
    "/tokens",
    keysetPage("before", z.uuid(), (res, before, limit) => tokens.list(currentUserId(res), before, limit)),
  );

  router.get("/tokens/:id", async (req, res) => {
    res.json(await tokens.get(currentUserId(res), pathId(req, "Token")));
  });

  router.delete("/tokens/:id", async (req, res) => {
    await tokens.revoke(currentUserId(res), pathId(req, "Token"));
    res.status(204).end();
  });
  return router;
}
