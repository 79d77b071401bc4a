import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { createAccessTokenVerifier } from "@taskmesh/auth";
import { PUBSUB_NAME } from "@taskmesh/contracts";
import { createHttpMetrics, createLogger, serve, type Lifecycle, type Logger } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import { createPool, PrismaClient, resolveDatabase } from "@taskmesh/db";
import { createApp } from "./app.ts";
import { createAuth } from "./auth/auth.ts";
import { loadTaskApiConfig } from "./config.ts";
import { createDatabase } from "./data/database.ts";
import { deleteExpired } from "./data/idempotency.repository.ts";
import { auditLogTaskHistory } from "./data/task-history.client.ts";
import { createOutboxRelay, type OutboxRelay } from "./workers/outbox-relay.worker.ts";

/** Outside production a signing secret is made once and kept with the local data, so sessions survive restarts. */
async function developmentSecret(dataDir: string, logger: Logger): Promise<string> {
  const file = path.join(dataDir, "auth-secret");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
    logger.warn({ file }, "BETTER_AUTH_SECRET is not set: generated a development secret");
    return secret;
  }
}

async function main(): Promise<void> {
  const config = loadTaskApiConfig();
  const logger = createLogger({ service: "task-api", level: config.LOG_LEVEL });
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;

  const database = await resolveDatabase({
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    dataDir: path.resolve(config.DATA_DIR, "postgres"),
    port: config.EMBEDDED_PG_PORT,
    migrationsDir: path.resolve(config.MIGRATIONS_DIR),
    migrate: config.MIGRATE_ON_START,
    log: (message) => {
      logger.info(message);
    },
  });
  // One pool: Prisma writes through it and the hot read paths query it directly.
  const pool = createPool({
    connectionString: database.connectionString,
    max: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    onConnectionError: (err) => {
      logger.warn({ err }, "database connection lost");
    },
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const metrics = createHttpMetrics("task-api");
  const daprUrl = `http://127.0.0.1:${config.DAPR_HTTP_PORT}`;

  // Publishes the outbox through the sidecar; woken by every commit of this process, and
  // polling for what other replicas commit. The API does not wait for the sidecar.
  let relay: OutboxRelay | undefined;
  if (config.OUTBOX_RELAY) {
    relay = createOutboxRelay({
      pool,
      sidecar: createSidecarClient({ baseUrl: daprUrl, apiToken: config.DAPR_API_TOKEN, timeoutMs: 5_000 }),
      pubsub: PUBSUB_NAME,
      logger: logger.child({ component: "outbox-relay" }),
      registry: metrics.registry,
      batchSize: config.OUTBOX_BATCH_SIZE,
      bulkPublish: config.OUTBOX_BULK_PUBLISH,
      publishConcurrency: config.OUTBOX_PUBLISH_CONCURRENCY,
      lanes: config.OUTBOX_RELAY_LANES,
      pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    });
  }
  const db = createDatabase(prisma, pool, { afterCommit: () => relay?.wake() });

  const secret = config.BETTER_AUTH_SECRET ?? (await developmentSecret(config.DATA_DIR, logger));
  const auth = createAuth({
    prisma,
    baseURL: publicUrl,
    secret,
    audience: config.JWT_AUDIENCE,
    trustedOrigins: config.CORS_ORIGINS,
    rateLimit: config.RATE_LIMIT_IP_PER_MINUTE > 0,
    protectedResources: config.PROTECTED_RESOURCES,
  });
  const verifyAccessToken = createAccessTokenVerifier({
    loadJwks: () => auth.api.getJwks(),
    issuer: publicUrl,
    audience: config.JWT_AUDIENCE,
  });

  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({
    logger,
    db,
    auth,
    verifyAccessToken,
    lifecycle,
    publicUrl,
    corsOrigins: config.CORS_ORIGINS,
    rateLimit: {
      ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
      userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
      signInPerIpPerMinute: config.RATE_LIMIT_SIGN_IN_IP_PER_MINUTE,
      signInPerEmailPerMinute: config.RATE_LIMIT_SIGN_IN_EMAIL_PER_MINUTE,
      clientRegistrationsPerIpPerHour: config.RATE_LIMIT_CLIENT_REGISTRATION_IP_PER_HOUR,
    },
    trustProxyHops: config.TRUST_PROXY_HOPS,
    quotas: {
      tasks: config.QUOTA_TASKS_PER_USER,
      lists: config.QUOTA_LISTS_PER_USER,
      tags: config.QUOTA_TAGS_PER_USER,
      tokens: config.QUOTA_TOKENS_PER_USER,
    },
    metrics,
    ...(config.APP_API_TOKEN
      ? { trustedCallers: { appApiToken: config.APP_API_TOKEN, appIds: config.TRUSTED_CALLER_APP_IDS } }
      : {}),
    introspectionCallerAppIds: config.INTROSPECTION_CALLER_APP_IDS,
    protectedResources: config.PROTECTED_RESOURCES,
    taskHistory: auditLogTaskHistory(
      createSidecarClient({ baseUrl: daprUrl, apiToken: config.DAPR_API_TOKEN }),
    ),
  });

  const sweep = setInterval(
    () => {
      deleteExpired(prisma, new Date()).then(
        (count) => {
          if (count > 0) logger.info({ count }, "expired idempotency records deleted");
        },
        (err: unknown) => {
          logger.warn({ err }, "idempotency sweep failed");
        },
      );
    },
    60 * 60 * 1000,
  );
  sweep.unref();

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    onClose: async () => {
      clearInterval(sweep);
      await relay?.stop();
      await prisma.$disconnect();
      await pool.end();
      await database.stop();
    },
  });
  relay?.start();
  const base = `http://localhost:${running.port}`;
  logger.info(
    { url: base, docs: `${base}/docs`, openapi: `${base}/openapi.json`, ports: running.ports },
    "task-api ready",
  );
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `task-api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
