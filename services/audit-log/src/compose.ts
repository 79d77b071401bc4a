import { serviceParts, type ComposedService, type ServiceOverrides } from "@taskmesh/core";
import { createPoolFromConfig } from "@taskmesh/db";
import type pg from "pg";
import { createApp } from "./app.ts";
import type { AuditLogConfig } from "./config.ts";

/** What a test may put in place of what compose builds from the config. */
export interface AuditLogOverrides extends ServiceOverrides {
  pool?: pg.Pool;
}

export interface AuditLogService extends ComposedService {
  pool: pg.Pool;
}

/** audit-log's composition root: main.ts serves what it returns, and the tests build the same. */
export function composeAuditLog(config: AuditLogConfig, overrides: AuditLogOverrides = {}): AuditLogService {
  const parts = serviceParts("audit-log", config, overrides);
  const pool = overrides.pool ?? createPoolFromConfig(config, parts.logger);
  const app = createApp({ ...parts, pool, appApiToken: config.APP_API_TOKEN });
  return {
    name: "audit-log",
    app,
    ...parts,
    pool,
    close: async () => {
      await pool.end();
    },
  };
}
