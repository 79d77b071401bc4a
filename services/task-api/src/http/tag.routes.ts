import express, { type Router } from "express";
import { z } from "zod";
import { currentUserId } from "../auth/authenticate.ts";
import type { TagUseCases } from "../domain/tag.use-cases.ts";
import { keysetPage } from "./keyset-page.ts";

export function tagRoutes(tags: TagUseCases): Router {
  const router = express.Router();
  router.get(
    "/tags",
    keysetPage("after", z.string(), (res, after, limit) => tags.page(currentUserId(res), after, limit)),
  );
  return router;
}
