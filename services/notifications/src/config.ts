import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";
import { requireWebhookKeyInProduction, webhookEnv } from "./webhook.config.ts";

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: env.port(3002),
    /**
     * The Dapr app port (daprd --app-port, dapr.io/app-port), always on 127.0.0.1: only this
     * pod's sidecar reaches it. Event deliveries, cron ticks, /internal/*, and service
     * invocation with the trusted-caller identity are served here and nowhere else.
     */
    APP_PORT: env.port(3102),
    /** /healthz, /readyz and /metrics for probes and Prometheus (on HOST; not in the Service or Ingress). */
    OPS_PORT: env.port(3202),
    HOST: z.string().default("0.0.0.0"),
    LOG_LEVEL: env.logLevel(),
    /** The database Prisma migrates (reminders, webhooks, stream_events); migrations are task-api's job. */
    DATABASE_URL: z.string().min(1),
    DATABASE_POOL_MAX: env.int(10),
    /** PostgreSQL statement_timeout of every connection of the pool (ms; 0 = none). */
    DATABASE_STATEMENT_TIMEOUT_MS: env.int(5_000),
    /** PostgreSQL idle_in_transaction_session_timeout of every connection (ms; 0 = none). */
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: env.int(30_000),
    /** daprd's HTTP API on 127.0.0.1. */
    DAPR_HTTP_PORT: env.port(3500),
    /** Sent to daprd as dapr-api-token when set. */
    DAPR_API_TOKEN: z.string().min(1).optional(),
    /** What daprd sends to this app; every /events, /cron and /internal route requires it. */
    APP_API_TOKEN: z.string().min(1),
    /** task-api's public URL: the `iss` of the access tokens users present. */
    AUTH_ISSUER: z.url(),
    AUTH_AUDIENCE: z.string().default("taskmesh"),
    /**
     * Where the JWKS comes from, and where session tokens and personal access tokens are
     * introspected: the app id of task-api, reached through this app's sidecar.
     */
    AUTH_JWKS_APP_ID: z.string().default("task-api"),
    /** How long an introspected session or personal access token is reused (revocation delay). */
    TOKEN_CACHE_SECONDS: env.int(30),
    /** Requests per minute on /v1 per user and per client IP (0 turns a limit off), as task-api. */
    RATE_LIMIT_USER_PER_MINUTE: env.int(600),
    RATE_LIMIT_IP_PER_MINUTE: env.int(1200),
    /** Proxies in front (the ingress), so per-IP limits see the client's address. */
    TRUST_PROXY_HOPS: env.int(0),
    /** Lifetime of a single-use stream ticket (POST /v1/stream/tickets). */
    STREAM_TICKET_TTL_SECONDS: env.int(60),
    /** The state store for processed event ids. */
    STATE_STORE: z.string().default("notifications-state"),
    /** How long an event id is remembered as processed (the database keeps it idempotent beyond that). */
    PROCESSED_EVENT_TTL_SECONDS: env.int(7 * 24 * 3600),
    /** Live stream: events kept for Last-Event-ID replay, and open streams per user. */
    STREAM_RETENTION_HOURS: env.int(24),
    STREAM_MAX_CONNECTIONS_PER_USER: env.int(5),
    STREAM_HEARTBEAT_MS: env.int(15_000),
    /** Reminders claimed per cron tick (more wait for the next tick). */
    REMINDER_BATCH_SIZE: env.int(100),
    SHUTDOWN_DRAIN_DELAY_MS: env.int(0),
    /** Comma-separated browser origins allowed to call /v1 (the stream, webhooks); empty = CORS off. */
    CORS_ORIGINS: env.list(),
    ...webhookEnv,
  })
  .superRefine(requireWebhookKeyInProduction);

export type NotificationsConfig = z.infer<typeof schema>;

export function loadNotificationsConfig(
  source: Record<string, string | undefined> = process.env,
): NotificationsConfig {
  return loadConfig(schema, source);
}
