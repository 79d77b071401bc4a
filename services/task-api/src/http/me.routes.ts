import { parseBody } from "@taskmesh/core";
import express, { type Router } from "express";
import { currentActor, currentUserId, requireUserInPerson } from "../auth/authenticate.ts";
import type { MeUseCases } from "../domain/me.use-cases.ts";
import { updateMeBody } from "@taskmesh/contracts";

export function meRoutes(me: MeUseCases): Router {
  const router = express.Router();
  router.get("/me", async (_req, res) => {
    res.json(await me.get(currentUserId(res)));
  });
  router.patch("/me", async (req, res) => {
    const input = parseBody(updateMeBody, req);
    res.json(await me.update(currentUserId(res), input, currentActor(res)));
  });
  // Deleting the account takes the user in person: no token or service may.
  router.delete("/me", requireUserInPerson, async (_req, res) => {
    await me.remove(currentUserId(res), currentActor(res));
    res.status(204).end();
  });
  return router;
}
