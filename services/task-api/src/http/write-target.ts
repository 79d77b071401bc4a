import type { Request, Response } from "express";
import { currentActor, currentUserId } from "../auth/authenticate.ts";
import { expectedVersion, pathId } from "./parse.ts";

/**
 * What a write to one task or list reads of its request, in this order: the user, the path id
 * (404 when it cannot be one), the version If-Match names (412 when it names none), the actor.
 */
export function writeTarget(req: Request, res: Response, what: "Task" | "List") {
  const userId = currentUserId(res);
  const id = pathId(req, what);
  const version = expectedVersion(req);
  return { userId, id, version, actor: currentActor(res) };
}
