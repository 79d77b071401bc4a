import { PrismaPg } from "@prisma/adapter-pg";
import { createBearerVerifier, introspectionFromSidecar, jwksFromSidecar, preloadJwks } from "@taskmesh/auth";
import { createLogger, serve, type Lifecycle } from "@taskmesh/core";
import { createProcessedEvents, createSidecarClient } from "@taskmesh/dapr";
import { createPool, PrismaClient } from "@taskmesh/db";
import { createApp } from "./app.ts";
import { loadNotificationsConfig } from "./config.ts";

import { deleteStreamEventsBefore } from "./data/stream-event.repository.ts";
import { deleteExpiredStreamTickets } from "./data/stream-ticket.repository.ts";
import { createStreamListener } from "./data/stream-listener.ts";
import { createLiveStream } from "./http/live-stream.ts";
import { webhookSettings } from "./webhook.config.ts";
import { createWebhookModule } from "./webhook.module.ts";

const RETENTION_SWEEP_MS = 10 * 60 * 1000;

async function main(): Promise<void> {
  const config = loadNotificationsConfig();
  const logger = createLogger({ service: "notifications", level: config.LOG_LEVEL });

  const pool = createPool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    onConnectionError: (err) => {
      logger.warn({ err }, "database connection lost");
    },
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sidecar = createSidecarClient({
    baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
    apiToken: config.DAPR_API_TOKEN,
  });
  // Loaded at start and retried until task-api and the sidecars answer: /readyz is 503 until then.
  const jwks = preloadJwks(jwksFromSidecar(sidecar, { appId: config.AUTH_JWKS_APP_ID }), { logger });
  jwks.start();
  const verifyBearer = createBearerVerifier({
    jwks,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    // The tokens the REST API takes: sessions and PATs are checked by task-api.
    acceptSessionTokens: true,
    introspect: introspectionFromSidecar(sidecar, { appId: config.AUTH_JWKS_APP_ID }),
    introspectionCacheMs: config.TOKEN_CACHE_SECONDS * 1000,
  });

  const liveStream = createLiveStream({
    pool,
    logger,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
    maxPerUser: config.STREAM_MAX_CONNECTIONS_PER_USER,
  });
  const listener = createStreamListener({
    connectionString: config.DATABASE_URL,
    logger,
    onNotice: (userId) => {
      liveStream.notify(userId);
    },
    onReconnect: () => {
      liveStream.catchUpAll();
    },
    onUserDeleted: (userId) => {
      liveStream.endUser(userId);
    },
  });
  await listener.start();

  const settings = webhookSettings(config);
  if (settings.developmentKey) {
    logger.warn("WEBHOOK_SECRET_KEY is not set: webhook secrets are encrypted with the development key");
  }
  const webhooks = createWebhookModule({ prisma, logger, settings });

  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({
    logger,
    lifecycle,
    prisma,
    pool,
    sidecar,
    verifyBearer,
    appApiToken: config.APP_API_TOKEN,
    liveStream,
    webhooks: webhooks.plugin,
    processedEvents: createProcessedEvents({
      sidecar,
      store: config.STATE_STORE,
      ttlSeconds: config.PROCESSED_EVENT_TTL_SECONDS,
      logger,
    }),
    reminderBatchSize: config.REMINDER_BATCH_SIZE,
    corsOrigins: config.CORS_ORIGINS,
    rateLimit: {
      ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
      userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
    },
    trustProxyHops: config.TRUST_PROXY_HOPS,
    streamTicketTtlMs: config.STREAM_TICKET_TTL_SECONDS * 1000,
    readiness: {
      signingKeys: () => jwks.check(),
      streamListener: () =>
        listener.listening ? Promise.resolve() : Promise.reject(new Error("not listening")),
    },
  });

  const sweep = setInterval(() => {
    const before = new Date(Date.now() - config.STREAM_RETENTION_HOURS * 3600 * 1000);
    deleteExpiredStreamTickets(pool, new Date()).catch((err: unknown) => {
      logger.warn({ err }, "stream ticket sweep failed");
    });
    deleteStreamEventsBefore(pool, before).then(
      (count) => {
        if (count > 0) logger.info({ count }, "old stream events deleted");
      },
      (err: unknown) => {
        logger.warn({ err }, "stream retention sweep failed");
      },
    );
  }, RETENTION_SWEEP_MS);
  sweep.unref();

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    // Open streams would hold the drain until the shutdown timeout; clients resume elsewhere.
    onDraining: () => {
      liveStream.close();
    },
    onClose: async () => {
      clearInterval(sweep);
      jwks.stop();
      await webhooks.worker.stop();
      await listener.stop();
      await prisma.$disconnect();
      await pool.end();
    },
  });
  webhooks.worker.start();
  logger.info(
    {
      url: `http://localhost:${running.port}`,
      stream: `http://localhost:${running.port}/v1/stream`,
      ports: running.ports,
    },
    "notifications ready",
  );
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `notifications failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
