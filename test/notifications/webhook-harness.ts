import { randomBytes, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { PrismaPg } from "@prisma/adapter-pg";
import { EVENT_TYPES, exampleEvents, newEvent, type TaskmeshEvent } from "@taskmesh/contracts";
import { createLogger } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import { PrismaClient } from "@taskmesh/db";
import supertest from "supertest";
import { createApp } from "../../services/notifications/src/app.ts";
import { createLiveStream } from "../../services/notifications/src/http/live-stream.ts";
import type { HostResolver } from "../../services/notifications/src/domain/webhook-target.guard.ts";
import type { WebhookSettings } from "../../services/notifications/src/webhook.config.ts";
import { createWebhookModule, type WebhookModule } from "../../services/notifications/src/webhook.module.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";
import type { TestTaskApi, TestUser } from "../support/task-api.ts";
import { notificationsVerifier, startTaskApiForNotifications } from "./bearer-verifier.ts";

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

export interface WebhookHarness {
  request: ReturnType<typeof supertest>;
  prisma: PrismaClient;
  settings: WebhookSettings;
  webhooks: WebhookModule;
  signUp(): Promise<TestUser>;
  /** Another replica on the same database (its own worker), e.g. with other settings. */
  replica(overrides?: Partial<WebhookSettings>, resolve?: HostResolver): WebhookModule;
  close(): Promise<void>;
}

/**
 * The real notifications app (port 0, its own database) with the webhook module plugged in
 * as main.ts does, and a real task-api whose access tokens authenticate users. The worker is
 * not started: tests start it when they want deliveries to go out.
 */
export async function startWebhookHarness(
  options: { settings?: Partial<WebhookSettings>; resolve?: HostResolver } = {},
): Promise<WebhookHarness> {
  const taskApi: TestTaskApi = await startTaskApiForNotifications();
  const database: TestDatabase = await createTestDatabase();
  const pool = testPool(database.connectionString, 8);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const logger = createLogger({ service: "notifications", level: "silent" });
  const settings = testSettings(options.settings);
  const modules: WebhookModule[] = [];
  const build = (s: WebhookSettings, resolve?: HostResolver) => {
    const m = createWebhookModule({ prisma, logger, settings: s, ...(resolve ? { resolve } : {}) });
    modules.push(m);
    return m;
  };
  const webhooks = build(settings, options.resolve);
  const liveStream = createLiveStream({ pool, logger, heartbeatMs: 60_000, maxPerUser: 5 });
  const app = createApp({
    logger,
    lifecycle: { draining: false },
    prisma,
    pool,
    // Never called by the webhook routes.
    sidecar: createSidecarClient({ baseUrl: "http://127.0.0.1:9" }),
    verifyBearer: notificationsVerifier(taskApi),
    appApiToken: "test-app-token-0123456789",
    liveStream,
    webhooks: webhooks.plugin,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => {
      resolve(s);
    });
  });
  return {
    request: supertest(server),
    prisma,
    settings,
    webhooks,
    signUp: () => taskApi.signUp(),
    replica: (overrides = {}, resolve) => build({ ...settings, ...overrides }, resolve),
    async close() {
      await Promise.all(modules.map((m) => m.worker.stop()));
      liveStream.close();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await prisma.$disconnect();
      await pool.end();
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
