import { randomUUID } from "node:crypto";
import { createHttpMetrics, listenOn, type HttpMetrics } from "@taskmesh/core";
import {
  EVENT_TYPES,
  newEvent,
  type HistoryPage,
  type TaskEvent,
  type TaskEventData,
  type TaskEventType,
  type TaskSnapshot,
} from "@taskmesh/contracts";
import { createPrismaClient, type PrismaClient } from "@taskmesh/db";
import supertest from "supertest";
import { composeAuditLog, type AuditLogOverrides } from "../../services/audit-log/src/compose.ts";
import { loadAuditLogConfig } from "../../services/audit-log/src/config.ts";
import { deliverCloudEvent } from "../support/cloud-events.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";

export const APP_TOKEN = "audit-log-test-app-token";

export interface TestAuditLog {
  /** The sidecar listener (the Dapr app port). */
  request: ReturnType<typeof supertest>;
  /** The operations listener: /healthz, /readyz, /metrics. */
  opsRequest: ReturnType<typeof supertest>;
  /** For the tests' own reads; the app has a node-postgres pool of its own, as in main.ts. */
  prisma: PrismaClient;
  metrics: HttpMetrics;
  /** POSTs one CloudEvent as daprd does (structured mode, with the app token); returns the status answered. */
  deliver(event: unknown): Promise<string>;
  /** POSTs a bulk delivery as daprd does; returns the status answered per entry id. */
  deliverBulk(events: unknown[]): Promise<Record<string, string>>;
  /** Reads the history as task-api does. */
  history(taskId: string, query: Record<string, string | number>): Promise<HistoryPage>;
  /** The value of a counter (without labels: the sum over them). */
  counter(name: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The real audit-log app on port 0 against a database of its own (cloned from the migrated
 * template), built by the same composition root as main.ts.
 */
export async function startAuditLog(
  overrides: AuditLogOverrides & { databaseUrl?: string } = {},
): Promise<TestAuditLog> {
  const { databaseUrl, ...deps } = overrides;
  const database: TestDatabase | undefined = databaseUrl ? undefined : await createTestDatabase();
  const connectionString = databaseUrl ?? database?.connectionString ?? "";
  const prisma = createPrismaClient({ connectionString, poolMax: 2 });
  const pool = testPool(connectionString, 4);
  const metrics = deps.metrics ?? createHttpMetrics("audit-log");
  const config = loadAuditLogConfig({
    DATABASE_URL: connectionString,
    APP_API_TOKEN: APP_TOKEN,
    LOG_LEVEL: "silent",
  });
  const { app } = composeAuditLog(config, { pool, metrics, ...deps });
  // The sidecar listener (what daprd calls) and the operations one (/metrics), as serve() opens them.
  const server = await listenOn(app, "sidecar", 0, "127.0.0.1");
  const opsServer = await listenOn(app, "operations", 0, "127.0.0.1");
  const request = supertest(server);
  return {
    request,
    opsRequest: supertest(opsServer),
    prisma,
    metrics,
    deliver: (event) => deliverCloudEvent(request, "/events/task-events", APP_TOKEN, event),
    async deliverBulk(events) {
      // The envelope daprd 1.18 sends (pkg/runtime/pubsub/bulksubscribe_events.go).
      const res = await request
        .post("/events/task-events")
        .set("dapr-api-token", APP_TOKEN)
        .set("content-type", "application/json")
        .send({
          id: randomUUID(),
          type: "com.dapr.event.sent.bulk",
          topic: "task-events",
          pubsubname: "taskmesh-pubsub",
          metadata: {},
          entries: events.map((event, i) => ({
            entryId: String(i),
            event,
            contentType: "application/cloudevents+json",
            metadata: {},
          })),
        })
        .expect(200);
      const statuses = (res.body as { statuses: { entryId: string; status: string }[] }).statuses;
      return Object.fromEntries(statuses.map((s) => [s.entryId, s.status]));
    },
    async history(taskId, query) {
      const res = await request
        .get(`/internal/tasks/${taskId}/history`)
        .query(query)
        .set("dapr-api-token", APP_TOKEN)
        .expect(200);
      return res.body as HistoryPage;
    },
    async counter(name) {
      const metric = await metrics.registry.getSingleMetric(name)?.get();
      return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
    },
    async close() {
      await Promise.all(
        [server, opsServer].map(
          (s) =>
            new Promise<void>((resolve) =>
              s.close(() => {
                resolve();
              }),
            ),
        ),
      );
      await pool.end();
      await prisma.$disconnect();
      await database?.drop();
    },
  };
}

const T0 = Date.parse("2026-11-20T09:00:00.000Z");

/** A task as task-api would snapshot it. */
export function snapshot(overrides: Partial<TaskSnapshot> & { id: string; userId: string }): TaskSnapshot {
  return {
    listId: null,
    parentId: null,
    title: "Water the plants",
    description: null,
    completed: false,
    completedAt: null,
    priority: "medium",
    tags: [],
    dueAt: null,
    allDay: false,
    recurrence: null,
    remindAt: null,
    createdAt: new Date(T0).toISOString(),
    updatedAt: new Date(T0).toISOString(),
    version: 1,
    ...overrides,
  };
}

/** A valid task event with a fresh id (version/sequence rules of the contract respected). */
export function taskEvent(
  type: TaskEventType,
  options: {
    task: TaskSnapshot;
    changes?: TaskEventData["changes"];
    actor?: TaskEventData["actor"];
    id?: string;
  },
): TaskEvent {
  const { task } = options;
  const sequence = type === EVENT_TYPES.taskDeleted ? task.version + 1 : task.version;
  const occurredAt = new Date(T0 + sequence * 60_000).toISOString();
  return newEvent(
    type,
    {
      taskId: task.id,
      userId: task.userId,
      sequence,
      occurredAt,
      actor: options.actor ?? { kind: "user", id: task.userId },
      task: { ...task, updatedAt: occurredAt },
      changes: options.changes ?? {},
    },
    { id: options.id ?? randomUUID(), time: occurredAt },
  );
}
