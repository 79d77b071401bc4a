import { createHash } from "node:crypto";
import { env, loadConfig, serviceConfigFields } from "@taskmesh/core";
import { z } from "zod";

/**
 * The webhook part of notifications' environment.
 * WEBHOOK_SECRET_KEY encrypts the signing secrets at rest: 32 bytes, base64 (`openssl rand
 * -base64 32`). Required in production; elsewhere a fixed development key is derived, so local
 * secrets survive restarts (and are protected by nothing: never use it with real receivers).
 */
const webhookEnv = {
  WEBHOOK_SECRET_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || Buffer.from(v, "base64").length === 32, {
      message: "must be 32 bytes, base64-encoded (openssl rand -base64 32)",
    }),
  /** Lets webhooks target private, loopback and link-local addresses: tests and local development only. */
  WEBHOOK_ALLOW_PRIVATE_TARGETS: env.bool(false),
  /** Ports webhook targets may use (comma-separated); any other is 422. Default 80 and 443. */
  WEBHOOK_ALLOWED_PORTS: z
    .string()
    .default("80,443")
    .transform((v) =>
      v
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)
        .map(Number),
    )
    .refine((ports) => ports.length > 0 && ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535), {
      message: "must be a comma-separated list of ports (1-65535)",
    }),
  /** Per-user quota (GitHub's is 20 per event per repository): a 21st is 422 quota-exceeded. */
  WEBHOOK_MAX_PER_USER: z.coerce.number().int().min(1).default(20),
  /** Attempts per delivery before it is marked failed (8 with the default base: about a day). */
  WEBHOOK_MAX_ATTEMPTS: env.int(8),
  /** Delay after the first failed attempt; each later delay is 5x the previous (±20% jitter). */
  WEBHOOK_RETRY_BASE_MS: env.int(5000),
  /** Per attempt, until the response headers arrive. */
  WEBHOOK_TIMEOUT_MS: env.int(10_000),
  /** How often the worker looks for due deliveries when nothing woke it. */
  WEBHOOK_POLL_INTERVAL_MS: env.int(2000),
  /** Attempts in flight per replica. */
  WEBHOOK_CONCURRENCY: env.int(16),
};

type WebhookEnv = {
  [K in Exclude<keyof typeof webhookEnv, "WEBHOOK_SECRET_KEY">]: z.infer<(typeof webhookEnv)[K]>;
} & {
  WEBHOOK_SECRET_KEY?: string | undefined;
};

/** Production must bring its own key. */
function requireWebhookKeyInProduction(
  config: { NODE_ENV: string; WEBHOOK_SECRET_KEY?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (config.NODE_ENV === "production" && config.WEBHOOK_SECRET_KEY === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["WEBHOOK_SECRET_KEY"],
      message: "is required in production (32 bytes, base64)",
    });
  }
}

export interface WebhookSettings {
  secretKey: Buffer;
  /** true when secretKey is the derived development key (compose.ts warns). */
  developmentKey: boolean;
  allowPrivateTargets: boolean;
  /** Ports a target may use (any, when private targets are allowed). */
  allowedPorts: readonly number[];
  maxPerUser: number;
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
  concurrency: number;
}

const DEVELOPMENT_KEY = createHash("sha256").update("taskmesh development webhook secret key").digest();

export function webhookSettings(config: WebhookEnv): WebhookSettings {
  return {
    secretKey:
      config.WEBHOOK_SECRET_KEY === undefined
        ? DEVELOPMENT_KEY
        : Buffer.from(config.WEBHOOK_SECRET_KEY, "base64"),
    developmentKey: config.WEBHOOK_SECRET_KEY === undefined,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    allowedPorts: config.WEBHOOK_ALLOWED_PORTS,
    maxPerUser: config.WEBHOOK_MAX_PER_USER,
    maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: config.WEBHOOK_RETRY_BASE_MS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    pollIntervalMs: config.WEBHOOK_POLL_INTERVAL_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
  };
}

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    // The database Prisma migrates (reminders, webhooks, stream_events); the app token is
    // required on every /events, /cron and /internal route.
    ...serviceConfigFields(3002, { database: true, sidecar: true, appToken: true }),
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
