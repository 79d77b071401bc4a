import {
  createBearerVerifier,
  introspectionFromSidecar,
  jwksFromSidecar,
  preloadJwks,
  type Introspect,
  type PreloadedJwks,
} from "@taskmesh/auth";
import {
  serviceParts,
  type ComposedService,
  type ServiceOverrides,
  type Logger,
  type WorkerLoop,
} from "@taskmesh/core";
import {
  createProcessedEvents,
  sidecarClientFromConfig,
  type ProcessedEvents,
  type SidecarClient,
} from "@taskmesh/dapr";
import { databaseFromConfig, type DatabaseParts, type PrismaClient } from "@taskmesh/db";
import { createApp, type WebhookPlugin } from "./app.ts";
import { webhookSettings, type NotificationsConfig, type WebhookSettings } from "./config.ts";
import { isDeletedUser } from "./data/deleted-user.repository.ts";
import { latestStreamPosition, streamEventsAfter } from "./data/stream-event.repository.ts";
import { createStreamListener, type StreamListener } from "./data/stream-listener.ts";
import { createWebhookDeliveryRepository } from "./data/webhook-delivery.repository.ts";
import { sendWebhook, type WebhookSender } from "./data/webhook-sender.ts";
import { createWebhookRepository } from "./data/webhook.repository.ts";
import { createSecretBox } from "./domain/webhook-signing.ts";
import { createWebhookTargetGuard, type HostResolver } from "./domain/webhook-target.guard.ts";
import { createWebhookUseCases } from "./domain/webhook.use-cases.ts";
import { createWebhookFanOut } from "./events/webhook-fanout.ts";
import { createLiveStream, type LiveStream } from "./http/live-stream.ts";
import { webhookRoutes } from "./http/webhook.routes.ts";
import { createStreamRetentionWorker } from "./workers/stream-retention.worker.ts";
import {
  createWebhookDeliveryWorker,
  type WebhookDeliveryWorker,
} from "./workers/webhook-delivery.worker.ts";

export interface WebhooksDeps {
  prisma: PrismaClient;
  logger: Logger;
  settings: WebhookSettings;
  /** Defaults to dns.lookup (all addresses). */
  resolve?: HostResolver;
  /** Defaults to node:http(s) pinned to the checked address. */
  send?: WebhookSender;
}

export interface Webhooks {
  /** For createApp: the /v1/webhooks routes and the event fan-out. */
  plugin: Required<WebhookPlugin>;
  /** Started after the listeners open, stopped on shutdown. */
  worker: WebhookDeliveryWorker;
}

/** Webhooks: registration API, fan-out of consumed events, and the delivery worker. */
export function composeWebhooks(deps: WebhooksDeps): Webhooks {
  const { settings } = deps;
  const guard = createWebhookTargetGuard({
    allowPrivateTargets: settings.allowPrivateTargets,
    allowedPorts: settings.allowedPorts,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  });
  const secretBox = createSecretBox(settings.secretKey);
  const deliveries = createWebhookDeliveryRepository(deps.prisma);
  const worker = createWebhookDeliveryWorker({
    deliveries,
    guard,
    secretBox,
    send: deps.send ?? sendWebhook,
    logger: deps.logger.child({ component: "webhook-delivery" }),
    settings,
  });
  const fanOut = createWebhookFanOut({
    deliveries,
    onQueued: () => {
      worker.notify();
    },
  });
  const useCases = createWebhookUseCases({
    webhooks: createWebhookRepository(deps.prisma),
    guard,
    secretBox,
    maxPerUser: settings.maxPerUser,
  });
  return {
    plugin: {
      router: webhookRoutes(useCases),
      fanOut: async (event) => {
        await fanOut(event);
      },
    },
    worker,
  };
}

/** What a test may put in place of what compose builds from the config. */
export interface NotificationsOverrides extends ServiceOverrides, Partial<DatabaseParts> {
  sidecar?: SidecarClient;
  /** task-api's keys; default: through the sidecar from AUTH_JWKS_APP_ID, loaded at start. */
  jwks?: PreloadedJwks;
  /** Introspection of session tokens and PATs; default: at AUTH_JWKS_APP_ID through the sidecar. */
  introspect?: Introspect;
  /** Default: ids in STATE_STORE through the sidecar. */
  processedEvents?: ProcessedEvents;
  /** Webhook targets' name resolution (default dns.lookup). */
  resolveHost?: HostResolver;
}

export interface NotificationsService extends ComposedService, DatabaseParts {
  liveStream: LiveStream;
  listener: StreamListener;
  webhooks: Webhooks;
  jwks: PreloadedJwks;
  retention: WorkerLoop;
}

/**
 * notifications' composition root: main.ts serves what it returns, and the tests build the
 * same. Resolves once the stream listener is LISTENing (its first connection failing rejects).
 */
export async function composeNotifications(
  config: NotificationsConfig,
  overrides: NotificationsOverrides = {},
): Promise<NotificationsService> {
  const parts = serviceParts("notifications", config, overrides);
  const { logger } = parts;
  const { pool, prisma } = databaseFromConfig(config, logger, overrides);
  const sidecar = overrides.sidecar ?? sidecarClientFromConfig(config);

  // Loaded at start and retried until task-api and the sidecars answer: /readyz is 503 until then.
  const jwks =
    overrides.jwks ?? preloadJwks(jwksFromSidecar(sidecar, { appId: config.AUTH_JWKS_APP_ID }), { logger });
  const verifyBearer = createBearerVerifier({
    jwks,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    // The tokens the REST API takes: sessions and PATs are checked by task-api.
    acceptSessionTokens: true,
    introspect: overrides.introspect ?? introspectionFromSidecar(sidecar, { appId: config.AUTH_JWKS_APP_ID }),
    introspectionCacheMs: config.TOKEN_CACHE_SECONDS * 1000,
  });

  const liveStream = createLiveStream({
    reads: {
      eventsAfter: (userId, after, limit) => streamEventsAfter(pool, userId, after, limit),
      latestPosition: (userId) => latestStreamPosition(pool, userId),
      isDeletedUser: (userId) => isDeletedUser(pool, userId),
    },
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
  const webhooks = composeWebhooks({
    prisma,
    logger,
    settings,
    ...(overrides.resolveHost ? { resolve: overrides.resolveHost } : {}),
  });
  const retention = createStreamRetentionWorker({
    pool,
    logger,
    retentionHours: config.STREAM_RETENTION_HOURS,
  });

  const app = createApp({
    ...parts,
    prisma,
    pool,
    sidecar,
    verifyBearer,
    appApiToken: config.APP_API_TOKEN,
    liveStream,
    webhooks: webhooks.plugin,
    processedEvents:
      overrides.processedEvents ??
      createProcessedEvents({
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

  return {
    name: "notifications",
    app,
    ...parts,
    pool,
    prisma,
    liveStream,
    listener,
    webhooks,
    jwks,
    retention,
    start: () => {
      jwks.start();
      webhooks.worker.start();
      retention.start();
    },
    // Open streams would hold the drain until the shutdown timeout; clients resume elsewhere.
    onDraining: () => {
      liveStream.close();
    },
    close: async () => {
      jwks.stop();
      await retention.stop();
      await webhooks.worker.stop();
      await listener.stop();
      await prisma.$disconnect();
      await pool.end();
    },
    readyInfo: (base) => ({ stream: `${base}/v1/stream` }),
  };
}
