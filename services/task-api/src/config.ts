import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: env.port(3000),
    HOST: z.string().default("0.0.0.0"),
    /** Public origin of this service, used by auth for callbacks and as the JWT issuer. */
    PUBLIC_URL: z.url().optional(),
    /** Any PostgreSQL 14+; unset = an embedded PostgreSQL with its data under DATA_DIR. */
    DATABASE_URL: z.string().min(1).optional(),
    DATA_DIR: z.string().default(".data"),
    /** Migrations applied at start (always for the embedded database; MIGRATE_ON_START=false skips them for DATABASE_URL). */
    MIGRATIONS_DIR: z.string().default("prisma/migrations"),
    MIGRATE_ON_START: env.bool(true),
    EMBEDDED_PG_PORT: env.port(54329),
    DATABASE_POOL_MAX: env.int(10),
    /** Signs sessions and encrypts the JWT private keys; at least 32 characters. */
    BETTER_AUTH_SECRET: z.string().min(32).optional(),
    JWT_AUDIENCE: z.string().default("taskmesh"),
    CORS_ORIGINS: env.list(),
    /** Requests per minute; 0 turns a limit off. */
    RATE_LIMIT_USER_PER_MINUTE: env.int(600),
    RATE_LIMIT_IP_PER_MINUTE: env.int(1200),
    /** Express "trust proxy" hop count, so per-IP limits see the client behind an ingress. */
    TRUST_PROXY_HOPS: env.int(0),
    SHUTDOWN_DRAIN_DELAY_MS: env.int(0),
    LOG_LEVEL: env.logLevel(),
  })
  .refine((c) => c.NODE_ENV !== "production" || c.BETTER_AUTH_SECRET !== undefined, {
    message: "BETTER_AUTH_SECRET is required in production",
    path: ["BETTER_AUTH_SECRET"],
  });

export type TaskApiConfig = z.infer<typeof schema>;

export function loadTaskApiConfig(source: Record<string, string | undefined> = process.env): TaskApiConfig {
  return loadConfig(schema, source);
}
