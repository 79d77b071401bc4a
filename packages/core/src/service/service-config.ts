import { z } from "zod";
import { env } from "../config.ts";

/** What a service has besides the listeners: each adds its environment to serviceConfigFields. */
export interface ServiceConfigParts {
  /** It calls its sidecar: DAPR_HTTP_PORT and DAPR_API_TOKEN (sidecarConfigFields). */
  sidecar?: boolean;
  /** The sidecar calls it: APP_API_TOKEN is required (appTokenConfigFields). */
  appToken?: boolean;
  /** It has its own PostgreSQL pool: DATABASE_* (databaseConfigFields). */
  database?: boolean;
}

type PartFields<P extends ServiceConfigParts> = (P extends { sidecar: true }
  ? ReturnType<typeof sidecarConfigFields>
  : unknown) &
  (P extends { appToken: true } ? ReturnType<typeof appTokenConfigFields> : unknown) &
  (P extends { database: true } ? ReturnType<typeof databaseConfigFields> : unknown);

/**
 * The environment every service reads, spread into its own zod object
 * (`z.object({ ...serviceConfigFields(3003, { database: true }), ... })`): its three listeners
 * (public `port`, the Dapr app port at +100, the operations port at +200), log level and
 * shutdown drain, and the fields of the `parts` it has.
 */
export function serviceConfigFields<const P extends ServiceConfigParts = ServiceConfigParts>(
  port: number,
  parts?: P,
): ReturnType<typeof listenerConfigFields> & PartFields<P> {
  return {
    ...listenerConfigFields(port),
    ...(parts?.sidecar ? sidecarConfigFields() : {}),
    ...(parts?.appToken ? appTokenConfigFields() : {}),
    ...(parts?.database ? databaseConfigFields() : {}),
  } as ReturnType<typeof listenerConfigFields> & PartFields<P>;
}

function listenerConfigFields(port: number) {
  return {
    PORT: env.port(port),
    /**
     * The Dapr app port (daprd --app-port, dapr.io/app-port), always on 127.0.0.1: only this
     * pod's sidecar reaches it. Event deliveries, cron ticks, /internal/*, and service
     * invocation with the trusted-caller identity are served here and nowhere else.
     */
    APP_PORT: env.port(port + 100),
    /** /healthz, /readyz and /metrics for probes and Prometheus (on HOST; not in the Service or Ingress). */
    OPS_PORT: env.port(port + 200),
    HOST: z.string().default("0.0.0.0"),
    LOG_LEVEL: env.logLevel(),
    /** How long /readyz answers 503 before the listeners close, so load balancers stop routing first. */
    SHUTDOWN_DRAIN_DELAY_MS: env.int(0),
  };
}

/** The fields of serviceConfigFields, parsed: what serveService needs of a service's config. */
export interface ServiceConfig {
  PORT: number;
  APP_PORT: number;
  OPS_PORT: number;
  HOST: string;
  LOG_LEVEL: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  SHUTDOWN_DRAIN_DELAY_MS: number;
}

/** A service that calls its sidecar: the sidecar's HTTP port and the token it requires (dapr-api-token). */
export function sidecarConfigFields() {
  return {
    DAPR_HTTP_PORT: env.port(3500),
    /** What this app sends to its sidecar as dapr-api-token (daprd's DAPR_API_TOKEN); unset = none. */
    DAPR_API_TOKEN: z.string().min(1).optional(),
  };
}

/** A service the sidecar calls: what daprd sends as dapr-api-token on /events, /cron and /internal. */
export function appTokenConfigFields() {
  return {
    APP_API_TOKEN: z.string().min(1),
  };
}

/** A service with its own PostgreSQL pool (createPool of @taskmesh/db). */
export function databaseConfigFields() {
  return {
    /** The database (schema: prisma/; migrations are applied by the launcher or the deploy Job). */
    DATABASE_URL: z.string().min(1),
    DATABASE_POOL_MAX: env.int(10),
    /** PostgreSQL statement_timeout of every connection of the pool (ms; 0 = none). */
    DATABASE_STATEMENT_TIMEOUT_MS: env.int(5_000),
    /** PostgreSQL idle_in_transaction_session_timeout of every connection (ms; 0 = none). */
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: env.int(30_000),
  };
}
