import {
  createHttpMetrics,
  createLogger,
  type ComposedService,
  type HttpMetrics,
  type Lifecycle,
  type Logger,
} from "@taskmesh/core";
import { createPoolFromConfig } from "@taskmesh/db";
import type pg from "pg";
import { createApp } from "./app.ts";
import type { AuditLogConfig } from "./config.ts";

/** What a test may put in place of what compose builds from the config. */
export interface AuditLogOverrides {
  logger?: Logger;
  pool?: pg.Pool;
  metrics?: HttpMetrics;
  lifecycle?: Lifecycle;
}

export interface AuditLogService extends ComposedService {
  pool: pg.Pool;
  metrics: HttpMetrics;
}

/** audit-log's composition root: main.ts serves what it returns, and the tests build the same. */
export function composeAuditLog(config: AuditLogConfig, overrides: AuditLogOverrides = {}): AuditLogService {
  const logger = overrides.logger ?? createLogger({ service: "audit-log", level: config.LOG_LEVEL });
  const pool = overrides.pool ?? createPoolFromConfig(config, logger);
  const metrics = overrides.metrics ?? createHttpMetrics("audit-log");
  const lifecycle = overrides.lifecycle ?? { draining: false };
  const app = createApp({ logger, pool, lifecycle, appApiToken: config.APP_API_TOKEN, metrics });
  return {
    name: "audit-log",
    app,
    logger,
    lifecycle,
    pool,
    metrics,
    close: async () => {
      await pool.end();
    },
  };
}
