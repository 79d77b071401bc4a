import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { EVENT_TYPES, exampleEvents, newEvent, type TaskmeshEvent } from "@taskmesh/contracts";
import { createLogger } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import type { PrismaClient } from "@taskmesh/db";
import supertest from "supertest";
import {
  composeNotifications,
  composeWebhooks,
  type Webhooks,
} from "../../services/notifications/src/compose.ts";
import { loadNotificationsConfig, type WebhookSettings } from "../../services/notifications/src/config.ts";
import type { HostResolver } from "../../services/notifications/src/domain/webhook-target.guard.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";
import { TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "../support/task-api.ts";
import { notificationsKeys, startTaskApiForNotifications } from "./bearer-verifier.ts";

/** Fast retries so a test sees several attempts; real code uses the config defaults. */
export function testSettings(overrides: Partial<WebhookSettings> = {}): WebhookSettings {
  return {
    secretKey: randomBytes(32),
    developmentKey: false,
    allowPrivateTargets: true,
    allowedPorts: [80, 443],
    maxPerUser: 20,
    maxAttempts: 4,
    retryBaseMs: 100,
    timeoutMs: 5000,
    pollIntervalMs: 200,
    concurrency: 4,
    ...overrides,
  };
}

/** The WEBHOOK_* variables that give these settings (config.ts's webhookSettings reads them back). */
function webhookEnvOf(settings: WebhookSettings): Record<string, string> {
  return {
    WEBHOOK_SECRET_KEY: settings.secretKey.toString("base64"),
    WEBHOOK_ALLOW_PRIVATE_TARGETS: String(settings.allowPrivateTargets),
    WEBHOOK_ALLOWED_PORTS: settings.allowedPorts.join(","),
    WEBHOOK_MAX_PER_USER: String(settings.maxPerUser),
    WEBHOOK_MAX_ATTEMPTS: String(settings.maxAttempts),
    WEBHOOK_RETRY_BASE_MS: String(settings.retryBaseMs),
    WEBHOOK_TIMEOUT_MS: String(settings.timeoutMs),
    WEBHOOK_POLL_INTERVAL_MS: String(settings.pollIntervalMs),
    WEBHOOK_CONCURRENCY: String(settings.concurrency),
  };
}

export interface WebhookHarness {
  request: ReturnType<typeof supertest>;
  prisma: PrismaClient;
  settings: WebhookSettings;
  webhooks: Webhooks;
  signUp(): Promise<TestUser>;
  /** Another replica on the same database (its own worker), e.g. with other settings. */
  replica(overrides?: Partial<WebhookSettings>, resolve?: HostResolver): Webhooks;
  close(): Promise<void>;
}

/**
 * The real notifications app (port 0, its own database), built by the same composition root
 * as main.ts, and a real task-api whose access tokens authenticate users. Its workers are not
 * started: tests start the webhook worker when they want deliveries to go out.
 */
export async function startWebhookHarness(
  options: { settings?: Partial<WebhookSettings>; resolve?: HostResolver } = {},
): Promise<WebhookHarness> {
  const taskApi: TestTaskApi = await startTaskApiForNotifications();
  const database: TestDatabase = await createTestDatabase();
  const pool = testPool(database.connectionString, 8);
  const logger = createLogger({ service: "notifications", level: "silent" });
  const settings = testSettings(options.settings);
  const config = loadNotificationsConfig({
    DATABASE_URL: database.connectionString,
    APP_API_TOKEN: "test-app-token-0123456789",
    AUTH_ISSUER: TEST_PUBLIC_URL,
    STREAM_HEARTBEAT_MS: "60000",
    ...webhookEnvOf(settings),
  });
  const service = await composeNotifications(config, {
    logger,
    pool,
    // Never called by the webhook routes.
    sidecar: createSidecarClient({ baseUrl: "http://127.0.0.1:9" }),
    ...notificationsKeys(taskApi),
    ...(options.resolve ? { resolveHost: options.resolve } : {}),
  });
  const { prisma, webhooks } = service;
  const replicas: Webhooks[] = [];
  const server = await new Promise<Server>((resolve) => {
    const s = service.app.listen(0, "127.0.0.1", () => {
      resolve(s);
    });
  });
  return {
    request: supertest(server),
    prisma,
    settings,
    webhooks,
    signUp: () => taskApi.signUp(),
    replica: (overrides = {}, resolve) => {
      const replica = composeWebhooks({
        prisma,
        logger,
        settings: { ...settings, ...overrides },
        ...(resolve ? { resolve } : {}),
      });
      replicas.push(replica);
      return replica;
    },
    async close() {
      await Promise.all(replicas.map((m) => m.worker.stop()));
      service.liveStream.close();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await service.close();
      await database.drop();
      await taskApi.close();
    },
  };
}

/** Polls until `check` returns a value (not undefined/false); generous deadline for a loaded machine. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A valid task.created event (new ids) for `userId`, as the sidecar delivers it (with Dapr's extensions). */
export function taskCreatedEvent(userId: string): TaskmeshEvent {
  const example = exampleEvents()[EVENT_TYPES.taskCreated];
  const taskId = randomUUID();
  const event = newEvent(
    EVENT_TYPES.taskCreated,
    {
      ...example.data,
      taskId,
      userId,
      actor: { kind: "user", id: userId },
      task: { ...example.data.task, id: taskId, userId },
    },
    { id: randomUUID() },
  );
  return { ...event, topic: "task-events", pubsubname: "taskmesh-pubsub", traceparent: "00-abc-def-01" };
}

export function reminderDueEvent(userId: string): TaskmeshEvent {
  const example = exampleEvents()[EVENT_TYPES.reminderDue];
  return newEvent(
    EVENT_TYPES.reminderDue,
    { ...example.data, taskId: randomUUID(), userId },
    { id: randomUUID() },
  );
}
