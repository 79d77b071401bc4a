import { requireBearer, requireScope, type BearerVerifier } from "@taskmesh/auth";
import type { TaskmeshEvent } from "@taskmesh/contracts";
import { createServiceApp, jsonBody, type ReadinessCheck, type ServiceDeps } from "@taskmesh/core";
import {
  createProcessedEvents,
  requireAppToken,
  type ProcessedEvents,
  type SidecarClient,
} from "@taskmesh/dapr";
import type { PrismaClient } from "@taskmesh/db";
import cors from "cors";
import express, { type Express, type RequestHandler, type Router } from "express";
import helmet from "helmet";
import type pg from "pg";

import { fireDueReminders } from "./data/reminder.repository.ts";
import { consumeStreamTicket, insertStreamTicket } from "./data/stream-ticket.repository.ts";
import { createFireReminders } from "./domain/fire-reminders.use-case.ts";
import { createEventHandler } from "./events/event-handler.ts";
import { eventRoutes } from "./events/notification-events.subscription.ts";
import { cronRoutes } from "./http/cron.routes.ts";
import { notificationMetrics } from "./http/notifications-metrics.ts";
import type { LiveStream } from "./http/live-stream.ts";
import { queryAccessToken } from "./http/query-token.ts";
import { rateLimits } from "./http/rate-limit.ts";
import { streamRoutes } from "./http/stream.routes.ts";

/**
 * What the webhooks (composeWebhooks in compose.ts) plug into the app. Both parts are optional so the
 * app runs without webhooks (and its tests build it without them).
 */
export interface WebhookPlugin {
  /**
   * User routes (`/webhooks`, `/webhooks/:id`, ...), mounted under `/v1` behind access-token
   * authentication and a JSON body parser: read the user with `currentUserId(res)` from
   * @taskmesh/auth, throw AppErrors (the app answers problem+json).
   */
  router?: Router;
  /**
   * Event fan-out: called once per consumed event (every task event and reminder.due), after
   * the event is stored for the live stream. Must be idempotent by `event.id` (a redelivered
   * event calls it again). A thrown UnavailableError (or any unexpected error) makes the
   * sidecar redeliver the event; another AppError drops it to the dead-letter topic.
   */
  fanOut?: (event: TaskmeshEvent) => Promise<void>;
}

export interface NotificationsDeps extends ServiceDeps {
  prisma: PrismaClient;
  /** The pool Prisma uses; raw SQL (claims, stream replay) goes through it too. */
  pool: pg.Pool;
  sidecar: SidecarClient;
  /**
   * Checks the bearer tokens users send (session token, JWT, personal access token), as the REST
   * API takes them: createBearerVerifier with acceptSessionTokens and task-api's introspection.
   */
  verifyBearer: BearerVerifier;
  /** APP_API_TOKEN: what the sidecar sends on /events/* and /cron/*. */
  appApiToken: string;
  /** The live streams of this process (fed by the stream listener, compose.ts); without it, no /v1/stream. */
  liveStream?: LiveStream;
  webhooks?: WebhookPlugin;
  /** Default: ids in the `notifications-state` store, kept for a week. */
  processedEvents?: ProcessedEvents;
  /** Reminders claimed per batch of a cron tick. */
  reminderBatchSize?: number;
  /** Readiness checks besides the database (e.g. the stream listener). */
  readiness?: Record<string, ReadinessCheck>;
  /** Browser origins allowed to call /v1 (e.g. an EventSource on another origin); empty = CORS off. */
  corsOrigins?: string[];
  /** Requests per minute per client IP and per user on /v1 (0 = off). Default 1200 / 600, as task-api. */
  rateLimit?: { ipPerMinute: number; userPerMinute: number };
  /** Express "trust proxy" hop count (TRUST_PROXY_HOPS), so per-IP limits see the client behind an ingress. */
  trustProxyHops?: number;
  /** Lifetime of a stream ticket (POST /v1/stream/tickets); default 60 s. */
  streamTicketTtlMs?: number;
}

/** The notifications Express app, without listening: compose.ts builds it for main.ts and the tests. */
export function createApp(deps: NotificationsDeps): Express {
  const { logger, pool } = deps;
  const limits = rateLimits(deps.rateLimit ?? { ipPerMinute: 1200, userPerMinute: 600 });
  const processedEvents =
    deps.processedEvents ??
    createProcessedEvents({
      sidecar: deps.sidecar,
      store: "notifications-state",
      ttlSeconds: 7 * 24 * 3600,
      logger,
    });

  // An API with no pages: nothing may be framed, sniffed or loaded from elsewhere.
  const security: RequestHandler[] = [
    helmet({ contentSecurityPolicy: { directives: { "default-src": ["'none'"] } } }),
  ];
  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    security.push(
      express.Router().use(
        "/v1",
        cors({
          origin: deps.corsOrigins,
          exposedHeaders: ["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"],
          maxAge: 600,
        }),
      ),
    );
  }

  return createServiceApp(
    {
      service: "notifications",
      ...deps, // logger, lifecycle, metrics, trustProxyHops
      readiness: {
        database: async () => {
          await pool.query("SELECT 1");
        },
        ...deps.readiness,
      },
      // ?access_token= (EventSource cannot send headers) becomes the Authorization header and
      // leaves the URL before the request is logged, so it is never logged.
      beforeLog: [queryAccessToken("/v1/stream")],
      security,
      daprSubscribe: true,
      // A statement cancelled by the pool's statement_timeout, or a lost database: 503, not 500.
      databaseErrors: true,
    },
    (app, { registry }) => {
      const counters = notificationMetrics(registry, deps.liveStream);
      // Routes only the sidecar calls: event deliveries, cron ticks, service invocation.
      app.use(
        ["/events", "/cron", "/internal"],
        requireAppToken(deps.appApiToken),
        express.json({ type: ["application/json", "application/*+json"], limit: "1mb" }),
      );
      app.use(
        eventRoutes(
          createEventHandler({ pool, processedEvents, fanOut: deps.webhooks?.fanOut, logger }),
          logger,
        ),
      );
      app.use(
        cronRoutes(
          createFireReminders({
            fireDue: (limit, publish) => fireDueReminders(pool, limit, publish),
            sidecar: deps.sidecar,
            logger,
            batchSize: deps.reminderBatchSize ?? 100,
            onFired: (count) => {
              counters.remindersFired.inc(count);
            },
          }),
        ),
      );

      const v1 = express.Router();
      v1.use(limits.perIp);
      // The stream authenticates itself (a bearer token, or a single-use ticket in the URL).
      if (deps.liveStream)
        v1.use(
          streamRoutes({
            liveStream: deps.liveStream,
            tickets: {
              insert: (ticket) => insertStreamTicket(pool, ticket),
              consume: (ticket, at) => consumeStreamTicket(pool, ticket, at),
            },
            verifyBearer: deps.verifyBearer,
            afterAuthentication: limits.perUser,
            ...(deps.streamTicketTtlMs === undefined ? {} : { ticketTtlMs: deps.streamTicketTtlMs }),
          }),
        );
      v1.use(requireBearer(deps.verifyBearer), limits.perUser);
      // Read-only tokens (personal or OAuth-scoped) may only read, as on the REST API.
      v1.use((req, res, next) => {
        if (req.method !== "GET" && req.method !== "HEAD") requireScope(res, "read-write");
        next();
      });
      v1.use(jsonBody({ limit: "64kb" }));
      if (deps.webhooks?.router) v1.use(deps.webhooks.router);
      app.use("/v1", v1);
    },
  ).app;
}
