import { currentUserId } from "@taskmesh/auth";
import express, { type Router } from "express";
import { decodeJwt } from "jose";
import type { LiveStream } from "./live-stream.ts";

function tokenExpiry(authorization: string | undefined): Date | undefined {
  if (!authorization?.startsWith("Bearer ")) return undefined;
  const { exp } = decodeJwt(authorization.slice(7).trim());
  return typeof exp === "number" ? new Date(exp * 1000) : undefined;
}

/**
 * GET /v1/stream: the user's own task events and reminders as server-sent events (`id` = the
 * stream position, `data` = the CloudEvent). Authenticated like every /v1 route; browsers'
 * EventSource, which cannot send headers, may pass the token as `?access_token=`. Resumes
 * after `Last-Event-ID`; without it, starts with the next event.
 */
export function streamRoutes(liveStream: LiveStream): Router {
  const router = express.Router();
  router.get("/stream", async (req, res) => {
    const expiresAt = tokenExpiry(req.headers.authorization);
    await liveStream.open(req, res, { userId: currentUserId(res), ...(expiresAt ? { expiresAt } : {}) });
  });
  return router;
}
