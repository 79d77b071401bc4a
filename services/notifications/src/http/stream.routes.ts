import { randomBytes } from "node:crypto";
import { requireBearer, type BearerIdentity, type BearerVerifier } from "@taskmesh/auth";
import { UnauthenticatedError } from "@taskmesh/core";
import express, { type RequestHandler, type Router } from "express";
import { z } from "zod";
import type { LiveStream } from "./live-stream.ts";

/** A stream opened with a token that can be revoked (session, PAT) is re-authenticated this often. */
const REVOCABLE_STREAM_MAX_MS = 15 * 60_000;

const ticketQuery = z.object({ ticket: z.string().regex(/^tmst_[A-Za-z0-9_-]{43}$/) });

/** Single-use stream tickets: app.ts binds data/stream-ticket.repository.ts. */
export interface StreamTickets {
  /** Stores a ticket (by its hash) for `userId`, valid until `expiresAt`. */
  insert(ticket: { value: string; userId: string; expiresAt: Date; tokenExpiresAt?: Date }): Promise<void>;
  /** Deletes the ticket and returns its user; undefined when it is unknown, used already or expired. */
  consume(ticket: string, now: Date): Promise<{ userId: string; tokenExpiresAt?: Date } | undefined>;
}

export interface StreamRoutesOptions {
  liveStream: LiveStream;
  tickets: StreamTickets;
  verifyBearer: BearerVerifier;
  /** How long a stream ticket may wait to be used (default 60 s). */
  ticketTtlMs?: number;
  /** Runs after authentication, before the route (the per-user rate limit). */
  afterAuthentication?: RequestHandler;
  now?: () => Date;
}

/** When a stream opened with this identity must end: the JWT's expiry, or a re-check for revocable tokens. */
function streamEndsAt(identity: BearerIdentity, now: Date): Date {
  const recheck = new Date(now.getTime() + REVOCABLE_STREAM_MAX_MS);
  if (identity.kind === "jwt") return identity.expiresAt ?? recheck;
  return identity.expiresAt && identity.expiresAt < recheck ? identity.expiresAt : recheck;
}

const invalidTicket = (): UnauthenticatedError =>
  new UnauthenticatedError(
    "The stream ticket is invalid, expired or used already; get a new one with POST /v1/stream/tickets.",
    'Bearer realm="taskmesh", error="invalid_token", error_description="The stream ticket is invalid, expired or used"',
  );

/**
 * GET /v1/stream: the user's own task events and reminders as server-sent events (`id` = the
 * stream position, `data` = the CloudEvent). Authenticated with any bearer token the REST API
 * takes (session token, JWT, personal access token), or with a single-use ticket:
 * `POST /v1/stream/tickets` (bearer) answers `{ticket, expiresAt}`, and a browser's
 * EventSource, which cannot send headers, opens `GET /v1/stream?ticket=<ticket>` within its
 * lifetime (60 s). A used ticket is gone (a replay is 401) and any replica can consume it.
 * Resumes after `Last-Event-ID`; without it, starts with the next event.
 */
export function streamRoutes(options: StreamRoutesOptions): Router {
  const { liveStream, tickets } = options;
  const now = options.now ?? (() => new Date());
  const ticketTtlMs = options.ticketTtlMs ?? 60_000;
  const bearer = requireBearer(options.verifyBearer);
  const after: RequestHandler =
    options.afterAuthentication ??
    ((_req, _res, next) => {
      next();
    });
  const router = express.Router();

  router.get(
    "/stream",
    async (req, res, next) => {
      if (req.query.ticket === undefined) {
        await bearer(req, res, next);
        return;
      }
      const parsed = ticketQuery.safeParse(req.query);
      if (!parsed.success) throw invalidTicket();
      const ticket = await tickets.consume(parsed.data.ticket, now());
      if (!ticket) throw invalidTicket();
      res.locals.userId = ticket.userId;
      res.locals.streamEndsAt = ticket.tokenExpiresAt;
      next();
    },
    after,
    async (req, res) => {
      const userId = res.locals.userId ?? "";
      const bearerIdentity = res.locals.bearer;
      const expiresAt = bearerIdentity ? streamEndsAt(bearerIdentity, now()) : res.locals.streamEndsAt;
      await liveStream.open(req, res, { userId, ...(expiresAt ? { expiresAt } : {}) });
    },
  );

  router.post("/stream/tickets", bearer, after, async (_req, res) => {
    const identity = res.locals.bearer;
    if (!identity) throw new Error("requireBearer sets res.locals.bearer");
    const issuedAt = now();
    const value = `tmst_${randomBytes(32).toString("base64url")}`;
    const expiresAt = new Date(issuedAt.getTime() + ticketTtlMs);
    await tickets.insert({
      value,
      userId: identity.userId,
      expiresAt,
      tokenExpiresAt: streamEndsAt(identity, issuedAt),
    });
    res.setHeader("Cache-Control", "no-store");
    res.status(201).json({ ticket: value, expiresAt: expiresAt.toISOString() });
  });
  return router;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** When a ticket-opened stream must end (the expiry of the token the ticket was issued for). */
      streamEndsAt?: Date;
    }
  }
}
