import { createLogger, serve, type Lifecycle } from "@taskmesh/core";
import { createPool } from "@taskmesh/db";
import { createApp } from "./app.ts";
import { loadAuditLogConfig } from "./config.ts";

async function main(): Promise<void> {
  const config = loadAuditLogConfig();
  const logger = createLogger({ service: "audit-log", level: config.LOG_LEVEL });
  const pool = createPool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    onConnectionError: (err) => {
      // A connection the server closed (restart, failover) is replaced on next use.
      logger.warn({ err }, "database connection lost");
    },
  });

  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({ logger, pool, lifecycle, appApiToken: config.APP_API_TOKEN });

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    onClose: async () => {
      await pool.end();
    },
  });
  logger.info({ url: `http://localhost:${running.port}`, ports: running.ports }, "audit-log ready");
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `audit-log failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
