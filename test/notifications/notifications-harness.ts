import { randomBytes, randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import {
  EVENT_TYPES,
  newEvent,
  type CloudEvent,
  type ReminderDueEvent,
  type TaskEvent,
  type TaskEventType,
  type TaskSnapshot,
} from "@taskmesh/contracts";
import { listenOn, UnavailableError } from "@taskmesh/core";
import type { ProcessedEvents, SidecarClient } from "@taskmesh/dapr";
import pg from "pg";
import { pino } from "pino";
import supertest from "supertest";
import { composeNotifications } from "../../services/notifications/src/compose.ts";
import { loadNotificationsConfig } from "../../services/notifications/src/config.ts";
import type { LiveStream } from "../../services/notifications/src/http/live-stream.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";
import { deliverCloudEvent } from "../support/cloud-events.ts";
import { closeServers } from "../support/servers.ts";
import { TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "../support/task-api.ts";
import { notificationsKeys, startTaskApiForNotifications } from "./bearer-verifier.ts";

export const APP_TOKEN = "notifications-test-app-token";

export interface Published {
  pubsub: string;
  topic: string;
  event: CloudEvent<unknown>;
  partitionKey: string | undefined;
}

/**
 * A SidecarClient that records publishes: the component tests are about the app and its
 * database; daprd and the broker are exercised by test/stack/reminders-stream.test.ts.
 * `failPublish` makes publishes fail as an unreachable sidecar would; `publishDelayMs` keeps
 * a claim's transaction open for a while (concurrent ticks).
 */
export interface RecordingSidecar extends SidecarClient {
  published: Published[];
  failPublish: boolean;
  publishDelayMs: number;
}

export function recordingSidecar(): RecordingSidecar {
  const unused = (): never => {
    throw new Error("not used by these tests");
  };
  const sidecar: RecordingSidecar = {
    published: [],
    failPublish: false,
    publishDelayMs: 0,
    async publish(pubsub, topic, event, options = {}) {
      if (sidecar.publishDelayMs > 0) await new Promise((r) => setTimeout(r, sidecar.publishDelayMs));
      if (sidecar.failPublish) throw new UnavailableError("the Dapr sidecar is unreachable", 1);
      sidecar.published.push({ pubsub, topic, event, partitionKey: options.partitionKey });
    },
    bulkPublish: unused,
    invoke: unused,
    getState: unused,
    saveState: unused,
    deleteState: unused,
  };
  return sidecar;
}

/** Never remembers: every delivery goes through the database path, whose idempotency is under test. */
const noFastPath: ProcessedEvents = {
  has: () => Promise.resolve(false),
  remember: () => Promise.resolve(),
};

export interface NotificationsHarness {
  /** The sidecar listener (the Dapr app port). */
  request: ReturnType<typeof supertest>;
  /** The operations listener: /healthz, /readyz, /metrics. */
  opsRequest: ReturnType<typeof supertest>;
  baseUrl: string;
  pool: pg.Pool;
  sidecar: RecordingSidecar;
  liveStream: LiveStream;
  /** Every log line the app wrote. */
  logs: string[];
  /** The real task-api whose tokens (sessions, JWTs, PATs) authenticate the users. */
  taskApi: TestTaskApi;
  signUp(): Promise<TestUser>;
  /** Delivers an event as the sidecar does; returns the answered status. */
  deliver(route: "task-events" | "reminders" | "user-events", event: unknown): Promise<string>;
  tick(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The real notifications app on port 0, built by the same composition root as main.ts (its own
 * database, its stream listener on a dedicated connection, its workers started), and a real
 * task-api, whose JWKS the verifier loads over HTTP and whose access tokens authenticate the users.
 */
export async function startNotifications(
  options: {
    maxStreamsPerUser?: number;
    reminderBatchSize?: number;
    heartbeatMs?: number;
    corsOrigins?: string[];
    rateLimit?: { ipPerMinute: number; userPerMinute: number };
    streamTicketTtlMs?: number;
  } = {},
): Promise<NotificationsHarness> {
  const taskApi: TestTaskApi = await startTaskApiForNotifications();
  const database: TestDatabase = await createTestDatabase();
  const pool = testPool(database.connectionString, 10);
  // pool.end() resolves before its connections have closed, so dropping the database (FORCE)
  // can hit a closing connection that no longer has the pool's error listener.
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString("utf8"));
      done();
    },
  });
  const appLogger = pino({ base: { service: "notifications" }, level: "debug" }, sink);
  const sidecar = recordingSidecar();
  const config = loadNotificationsConfig({
    DATABASE_URL: database.connectionString,
    APP_API_TOKEN: APP_TOKEN,
    AUTH_ISSUER: TEST_PUBLIC_URL,
    WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"),
    STREAM_HEARTBEAT_MS: String(options.heartbeatMs ?? 60_000),
    STREAM_MAX_CONNECTIONS_PER_USER: String(options.maxStreamsPerUser ?? 5),
    ...(options.reminderBatchSize ? { REMINDER_BATCH_SIZE: String(options.reminderBatchSize) } : {}),
    ...(options.corsOrigins ? { CORS_ORIGINS: options.corsOrigins.join(",") } : {}),
    ...(options.rateLimit
      ? {
          RATE_LIMIT_IP_PER_MINUTE: String(options.rateLimit.ipPerMinute),
          RATE_LIMIT_USER_PER_MINUTE: String(options.rateLimit.userPerMinute),
        }
      : {}),
  });
  const service = await composeNotifications(
    // A ticket lifetime below a second (the variable is in whole seconds).
    options.streamTicketTtlMs
      ? { ...config, STREAM_TICKET_TTL_SECONDS: options.streamTicketTtlMs / 1000 }
      : config,
    { logger: appLogger, pool, sidecar, processedEvents: noFastPath, ...notificationsKeys(taskApi) },
  );
  const { app, liveStream } = service;
  service.start?.();
  // The sidecar listener (what daprd calls) and the operations one (/metrics), as serve() opens them.
  const server = await listenOn(app, "sidecar", 0, "127.0.0.1");
  const opsServer = await listenOn(app, "operations", 0, "127.0.0.1");
  const request = supertest(server);
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    request,
    opsRequest: supertest(opsServer),
    baseUrl,
    pool,
    sidecar,
    liveStream,
    logs,
    taskApi,
    signUp: () => taskApi.signUp(),
    deliver: (route, event) => deliverCloudEvent(request, `/events/${route}`, APP_TOKEN, event),
    async tick() {
      const res = await request.post("/cron/reminders").set("dapr-api-token", APP_TOKEN).expect(200);
      return (res.body as { fired: number }).fired;
    },
    async close() {
      liveStream.close();
      await closeServers([server, opsServer], { dropConnections: true });
      await service.close();
      await database.drop();
      await taskApi.close();
    },
  };
}

const SNAPSHOT_DEFAULTS = {
  listId: null,
  parentId: null,
  description: null,
  completedAt: null,
  priority: "none",
  tags: [],
  dueAt: null,
  allDay: false,
  recurrence: null,
  createdAt: "2026-11-26T09:00:00.000Z",
  updatedAt: "2026-11-26T09:00:00.000Z",
} as const satisfies Partial<TaskSnapshot>;

/** A valid task event as the sidecar delivers it; `sequence` is the task's version (version + 1 for deleted). */
export function taskEvent(
  type: TaskEventType,
  options: {
    userId: string;
    taskId: string;
    sequence: number;
    remindAt?: string | null;
    title?: string;
    changes?: Record<string, { from: unknown; to: unknown }>;
  },
): TaskEvent {
  const completed = type === EVENT_TYPES.taskCompleted;
  const version = type === EVENT_TYPES.taskDeleted ? options.sequence - 1 : options.sequence;
  const task: TaskSnapshot = {
    ...SNAPSHOT_DEFAULTS,
    id: options.taskId,
    userId: options.userId,
    title: options.title ?? "Call the dentist",
    completed,
    completedAt: completed ? "2026-11-26T10:00:00.000Z" : null,
    remindAt: options.remindAt ?? null,
    version: Math.max(version, 1),
  };
  const event: TaskEvent = newEvent<TaskEventType>(
    type,
    {
      taskId: options.taskId,
      userId: options.userId,
      sequence: options.sequence,
      occurredAt: new Date().toISOString(),
      actor: { kind: "user", id: options.userId },
      task,
      changes: type === EVENT_TYPES.taskCreated ? {} : (options.changes ?? {}),
    },
    { id: randomUUID() },
  );
  // As daprd delivers it: with its extension attributes.
  return { ...event, topic: "task-events", pubsubname: "taskmesh-pubsub" };
}

export function reminderDueEvent(options: {
  userId: string;
  taskId: string;
  remindAt: string;
}): ReminderDueEvent {
  return newEvent(
    EVENT_TYPES.reminderDue,
    {
      taskId: options.taskId,
      userId: options.userId,
      remindAt: options.remindAt,
      title: "Call the dentist",
      dueAt: null,
      firedAt: new Date().toISOString(),
    },
    { id: randomUUID() },
  );
}

export interface SseMessage {
  id: string | undefined;
  data: { id: string; type: string; data: { userId: string; taskId: string } };
}

/** A real HTTP client reading a server-sent event stream as it arrives. */
export interface SseClient {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  comments: string[];
  /** True once the server ended the stream. */
  ended: boolean;
  waitFor(what: string, check: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  waitForEnd(timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const client: SseClient = {
    status: response.status,
    headers: response.headers,
    messages: [],
    comments: [],
    ended: false,
    async waitFor(what, check, timeoutMs = 30_000) {
      await poll(what, () => check(client.messages), timeoutMs);
    },
    async waitForEnd(timeoutMs = 30_000) {
      await poll("the stream to end", () => client.ended, timeoutMs);
    },
    close() {
      abort.abort();
    },
  };
  if (!response.ok || !response.body) {
    client.ended = true;
    return client;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) client.comments.push(line.slice(1).trim());
            else if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length > 0)
            client.messages.push({ id, data: JSON.parse(data.join("\n")) as SseMessage["data"] });
        }
      }
    } catch {
      // aborted by close()
    }
    client.ended = true;
  })();
  return client;
}

/** Polls until `check` holds; generous deadline for a loaded machine. */
export async function poll(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
