import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";

// No DAPR_HTTP_PORT / DAPR_API_TOKEN: audit-log never calls its sidecar, the sidecar only calls it.
const schema = z.object({
  PORT: env.port(3003),
  /**
   * The Dapr app port (daprd --app-port, dapr.io/app-port), always on 127.0.0.1: only this
   * pod's sidecar reaches it. Event deliveries, cron ticks, /internal/*, and service
   * invocation with the trusted-caller identity are served here and nowhere else.
   */
  APP_PORT: env.port(3103),
  /** /healthz, /readyz and /metrics for probes and Prometheus (on HOST; not in the Service or Ingress). */
  OPS_PORT: env.port(3203),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: env.logLevel(),
  /** The database with audit_entries (schema: prisma/; migrations are task-api's or the deploy job's). */
  DATABASE_URL: z.string().min(1),
  DATABASE_POOL_MAX: env.int(10),
  /** PostgreSQL statement_timeout of every connection of the pool (ms; 0 = none). */
  DATABASE_STATEMENT_TIMEOUT_MS: env.int(5_000),
  /** PostgreSQL idle_in_transaction_session_timeout of every connection (ms; 0 = none). */
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: env.int(30_000),
  /** What daprd sends as dapr-api-token; every /events/* and /internal/* route requires it. */
  APP_API_TOKEN: z.string().min(1),
  SHUTDOWN_DRAIN_DELAY_MS: env.int(0),
});

export type AuditLogConfig = z.infer<typeof schema>;

export function loadAuditLogConfig(source: Record<string, string | undefined> = process.env): AuditLogConfig {
  return loadConfig(schema, source);
}
