import { env, loadConfig, serviceConfigFields } from "@taskmesh/core";
import { z } from "zod";

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    // The database is migrated by the launcher (npm start, the test stacks) or the deploy's
    // migrate Job; the sidecar: the relay publishes and task history is read through it.
    ...serviceConfigFields(3000, { database: true, sidecar: true }),
    /** Public origin of this service, used by auth for callbacks and as the JWT issuer. */
    PUBLIC_URL: z.url().optional(),
    /** Outside production, where the generated development auth secret is kept (auth-secret). */
    DATA_DIR: z.string().default(".data"),
    /** Signs sessions and encrypts the JWT private keys; at least 32 characters. */
    BETTER_AUTH_SECRET: z.string().min(32).optional(),
    JWT_AUDIENCE: z.string().default("taskmesh"),
    CORS_ORIGINS: env.list(),
    /** Requests per minute; 0 turns a limit off. */
    RATE_LIMIT_USER_PER_MINUTE: env.int(600),
    RATE_LIMIT_IP_PER_MINUTE: env.int(1200),
    /** Sign-in and sign-up attempts per minute per client IP (as TRUST_PROXY_HOPS resolves it). */
    RATE_LIMIT_SIGN_IN_IP_PER_MINUTE: env.int(20),
    /** Sign-in and sign-up attempts per minute per email address, from all IPs together. */
    RATE_LIMIT_SIGN_IN_EMAIL_PER_MINUTE: env.int(5),
    /** OAuth dynamic client registrations (POST /api/auth/oauth2/register) per hour per client IP. */
    RATE_LIMIT_CLIENT_REGISTRATION_IP_PER_HOUR: env.int(20),
    /** Per-user quotas (what one account may hold at once; domain/quotas.ts says why these defaults). */
    QUOTA_TASKS_PER_USER: z.coerce.number().int().min(1).default(10_000),
    QUOTA_LISTS_PER_USER: z.coerce.number().int().min(1).default(200),
    QUOTA_TAGS_PER_USER: z.coerce.number().int().min(1).default(500),
    QUOTA_TOKENS_PER_USER: z.coerce.number().int().min(1).default(50),
    /** Express "trust proxy" hop count, so per-IP limits see the client behind an ingress. */
    TRUST_PROXY_HOPS: env.int(0),
    /**
     * The token daprd sends to this app (dapr-api-token). Proves that a request came through
     * this app's own sidecar, which is what makes a trusted service caller; unset = none.
     */
    APP_API_TOKEN: z.string().min(1).optional(),
    /** Apps (dapr-caller-app-id) that may act for a user with x-taskmesh-user-id. */
    TRUSTED_CALLER_APP_IDS: env.list().default(["recurring-tasks", "mcp-server"]),
    /**
     * Apps (dapr-caller-app-id) that may introspect personal access tokens and session tokens at
     * /internal/tokens/introspect: the services users call directly with those tokens.
     */
    INTROSPECTION_CALLER_APP_IDS: env.list().default(["mcp-server", "notifications"]),
    /**
     * Protected resources (RFC 8707 resource identifiers) this server issues access tokens for,
     * with their own audience: the MCP server's canonical URL (its MCP_RESOURCE_URL).
     */
    PROTECTED_RESOURCES: env.list().default(["http://localhost:3001/mcp"]),
    /** The outbox relay publishes committed events through the sidecar; false = another process does. */
    OUTBOX_RELAY: env.bool(true),
    /** Outbox rows claimed per round trip. */
    OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(250),
    /** One bulk publish call per batch; false = one publish call per event. */
    OUTBOX_BULK_PUBLISH: env.bool(true),
    /** Publish calls in flight at once without bulk publish (distinct tasks only). */
    OUTBOX_PUBLISH_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(64),
    /** Relay rounds in flight at once in this process (each claims its own rows). */
    OUTBOX_RELAY_LANES: z.coerce.number().int().min(1).max(16).default(2),
    /** How often the relay looks for rows other replicas committed (its own commits wake it at once). */
    OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
  })
  .refine((c) => c.NODE_ENV !== "production" || c.BETTER_AUTH_SECRET !== undefined, {
    message: "BETTER_AUTH_SECRET is required in production",
    path: ["BETTER_AUTH_SECRET"],
  })
  .refine((c) => c.NODE_ENV !== "production" || c.APP_API_TOKEN !== undefined, {
    message: "APP_API_TOKEN is required in production",
    path: ["APP_API_TOKEN"],
  });

export type TaskApiConfig = z.infer<typeof schema>;

export function loadTaskApiConfig(source: Record<string, string | undefined> = process.env): TaskApiConfig {
  return loadConfig(schema, source);
}
