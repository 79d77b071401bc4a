import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createAccessTokenVerifier, type ClaimsAccessTokenVerifier } from "@taskmesh/auth";
import { PUBSUB_NAME } from "@taskmesh/contracts";
import {
  serviceParts,
  type ComposedService,
  type ServiceOverrides,
  type Logger,
  type WorkerLoop,
} from "@taskmesh/core";
import { sidecarClientFromConfig, type SidecarClient } from "@taskmesh/dapr";
import { databaseFromConfig, type DatabaseParts } from "@taskmesh/db";
import { createApp } from "./app.ts";
import { createAuth, type Auth } from "./auth/auth.ts";
import type { TaskApiConfig } from "./config.ts";
import { createDatabase, type Database } from "./data/database.ts";
import { auditLogTaskHistory, type TaskHistory } from "./data/task-history.client.ts";
import { createIdempotencySweep } from "./workers/idempotency-sweep.worker.ts";
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

/** What a test may put in place of what compose builds from the config. */
export interface TaskApiOverrides extends ServiceOverrides, Partial<DatabaseParts> {
  /** Default: Prisma and the pool, waking the outbox relay after every commit. */
  db?: Database;
  clock?: () => Date;
  /** Default: the sidecar at DAPR_HTTP_PORT (the relay's client with a 5 s timeout). */
  sidecar?: SidecarClient;
  /** Default: JWTs checked against this app's own keys. */
  verifyAccessToken?: ClaimsAccessTokenVerifier;
  /** Default: audit-log through the sidecar. */
  taskHistory?: TaskHistory;
}

export interface TaskApiService extends ComposedService, DatabaseParts {
  db: Database;
  auth: Auth;
  /** Absent when OUTBOX_RELAY=false. */
  relay: OutboxRelay | undefined;
  idempotencySweep: WorkerLoop;
}

/** task-api's composition root: main.ts serves what it returns, and the tests build the same. */
export async function composeTaskApi(
  config: TaskApiConfig,
  overrides: TaskApiOverrides = {},
): Promise<TaskApiService> {
  const parts = serviceParts("task-api", config, overrides);
  const { logger } = parts;
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  // One pool: Prisma writes through it and the hot read paths query it directly.
  const { pool, prisma } = databaseFromConfig(config, logger, overrides);

  // Publishes the outbox through the sidecar; woken by every commit of this process, and
  // polling for what other replicas commit. The API does not wait for the sidecar.
  const relay = config.OUTBOX_RELAY
    ? createOutboxRelay({
        pool,
        sidecar: overrides.sidecar ?? sidecarClientFromConfig(config, { timeoutMs: 5_000 }),
        pubsub: PUBSUB_NAME,
        logger: logger.child({ component: "outbox-relay" }),
        registry: parts.metrics.registry,
        batchSize: config.OUTBOX_BATCH_SIZE,
        bulkPublish: config.OUTBOX_BULK_PUBLISH,
        publishConcurrency: config.OUTBOX_PUBLISH_CONCURRENCY,
        lanes: config.OUTBOX_RELAY_LANES,
        pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
      })
    : undefined;
  const db = overrides.db ?? createDatabase(prisma, pool, { afterCommit: () => relay?.wake() });
  const idempotencySweep = createIdempotencySweep({
    prisma,
    logger,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
  });

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
  const verifyAccessToken =
    overrides.verifyAccessToken ??
    createAccessTokenVerifier({
      loadJwks: () => auth.api.getJwks(),
      issuer: publicUrl,
      audience: config.JWT_AUDIENCE,
    });

  const app = createApp({
    ...parts,
    db,
    auth,
    verifyAccessToken,
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
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...(config.APP_API_TOKEN
      ? { trustedCallers: { appApiToken: config.APP_API_TOKEN, appIds: config.TRUSTED_CALLER_APP_IDS } }
      : {}),
    introspectionCallerAppIds: config.INTROSPECTION_CALLER_APP_IDS,
    protectedResources: config.PROTECTED_RESOURCES,
    taskHistory:
      overrides.taskHistory ?? auditLogTaskHistory(overrides.sidecar ?? sidecarClientFromConfig(config)),
  });

  return {
    name: "task-api",
    app,
    ...parts,
    pool,
    prisma,
    db,
    auth,
    relay,
    idempotencySweep,
    start: () => {
      relay?.start();
      idempotencySweep.start();
    },
    close: async () => {
      await idempotencySweep.stop();
      await relay?.stop();
      await prisma.$disconnect();
      await pool.end();
    },
    readyInfo: (base) => ({ docs: `${base}/docs`, openapi: `${base}/openapi.json` }),
  };
}
