import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import { EVENT_TYPES, exampleEvents, PUBSUB_NAME, TOPICS } from "@taskmesh/contracts";
import { createLogger } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import pg from "pg";
import { Registry } from "prom-client";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backoffDelay,
  createOutboxRelay,
  type OutboxRelay,
} from "../../services/task-api/src/workers/outbox-relay.worker.ts";
import { readTopicUntil, type TopicRecord } from "../support/kafka.ts";
import { testPool } from "../support/postgres.ts";
import { closeServers, startBareApp } from "../support/servers.ts";
import { startStack, type TestStack } from "../support/stack.ts";

const logger = createLogger({ service: "task-api", level: "silent" });

/** A message as it sits on the broker: the Kafka record key and the CloudEvent. */
interface BrokerMessage {
  key: string | null;
  partition: number;
  event: { id: string; type: string; source: string; data: { taskId: string; sequence: number } };
}

let stack: TestStack;
let bareApp: Server;
let pool: pg.Pool;
let sidecar: { url: string; apiToken: string };

// Only task-api's sidecar (and the broker behind it) matters: the relay calls the sidecar and
// nothing calls the app, so a bare app stands in for task-api. Without mTLS: no invocation here.
beforeAll(async () => {
  const app = await startBareApp();
  bareApp = app.server;
  stack = await startStack({
    apps: [],
    externalApps: { "task-api": { port: app.port } },
    mtls: false,
    waitForConsumers: false,
  });
  pool = testPool(stack.databaseUrl, 8);
  sidecar = { url: stack.daprUrls["task-api"] ?? "", apiToken: stack.daprApiToken };
}, 180_000);

afterAll(async () => {
  await pool.end();
  await stack.stop();
  await closeServers([bareApp]);
}, 60_000);

/**
 * Reads task-events from the beginning until every one of `ids` is on it; returns what was read
 * (the other tests' events included).
 */
async function readUntilDelivered(ids: readonly string[]): Promise<BrokerMessage[]> {
  const missing = new Set(ids);
  const records = await readTopicUntil(stack.kafkaBrokers, TOPICS.taskEvents, (record) => {
    missing.delete(brokerMessage(record).event.id);
    return missing.size === 0;
  });
  return records.map(brokerMessage);
}

function brokerMessage(record: TopicRecord): BrokerMessage {
  return { key: record.key, partition: record.partition, event: record.json as BrokerMessage["event"] };
}

const template = exampleEvents()[EVENT_TYPES.taskUpdated].data;

/** Task events for `keys` tasks, `perKey` each, interleaved across tasks, written in id order. */
async function writeEvents(keys: number, perKey: number): Promise<{ tasks: string[]; ids: string[] }> {
  const tasks = Array.from({ length: keys }, () => randomUUID());
  const rows: { id: string; key: string; data: object }[] = [];
  for (let sequence = 1; sequence <= perKey; sequence++) {
    for (const taskId of tasks) {
      rows.push({
        id: uuidv7(),
        key: taskId,
        data: { ...template, taskId, sequence, task: { ...template.task, id: taskId, version: sequence } },
      });
    }
  }
  await pool.query(
    `INSERT INTO outbox_events (id, topic, type, partition_key, data)
     SELECT id, $2, $3, key, data FROM unnest($1::uuid[], $4::text[], $5::jsonb[]) AS r(id, key, data)`,
    [
      rows.map((r) => r.id),
      TOPICS.taskEvents,
      EVENT_TYPES.taskUpdated,
      rows.map((r) => r.key),
      rows.map((r) => JSON.stringify(r.data)),
    ],
  );
  return { tasks, ids: rows.map((r) => r.id) };
}

async function pending(ids: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    "SELECT count(*) AS n FROM outbox_events WHERE id = ANY($1::uuid[])",
    [ids],
  );
  return Number(rows[0]?.n);
}

function relayFor(url: string, apiToken: string | undefined, options: { bulk: boolean; batchSize: number }) {
  return createOutboxRelay({
    pool,
    sidecar: createSidecarClient({ baseUrl: url, apiToken, timeoutMs: 5_000 }),
    pubsub: PUBSUB_NAME,
    logger,
    batchSize: options.batchSize,
    bulkPublish: options.bulk,
    publishConcurrency: 8,
    pollIntervalMs: 20,
    baseBackoffMs: 20,
    maxBackoffMs: 200,
    registry: new Registry(),
  });
}

/** Runs rounds of every relay concurrently until none of `ids` is pending (or the deadline). */
async function drain(relays: OutboxRelay[], ids: readonly string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  await Promise.all(
    relays.map(async (relay) => {
      while (!done) {
        if (Date.now() > deadline) throw new Error(`outbox not drained after ${timeoutMs} ms`);
        // Failures are part of some tests: a round that fails leaves its rows for later.
        const published = await relay.runOnce().catch(() => 0);
        if (published === 0) {
          if ((await pending(ids)) === 0) done = true;
          else await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
}

/** The broker's copy of the given events, by id, checked to be exactly once and keyed by task. */
async function delivered(ids: readonly string[]): Promise<Map<string, BrokerMessage[]>> {
  const wanted = new Set(ids);
  const byTask = new Map<string, BrokerMessage[]>();
  const seen = new Map<string, number>();
  for (const message of await readUntilDelivered(ids)) {
    if (!wanted.has(message.event.id)) continue;
    seen.set(message.event.id, (seen.get(message.event.id) ?? 0) + 1);
    byTask.set(message.event.data.taskId, [...(byTask.get(message.event.data.taskId) ?? []), message]);
  }
  expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
  expect(seen.size).toBe(ids.length);
  return byTask;
}

function expectInOrder(byTask: Map<string, BrokerMessage[]>, tasks: readonly string[], perKey: number): void {
  for (const task of tasks) {
    const messages = byTask.get(task) ?? [];
    expect(messages.map((m) => m.event.data.sequence)).toEqual(
      Array.from({ length: perKey }, (_, i) => i + 1),
    );
    // Keyed by the task: one partition per task.
    expect(new Set(messages.map((m) => m.key))).toEqual(new Set([task]));
    expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
  }
}

describe.each([
  { mode: "bulk publish", bulk: true },
  { mode: "one publish per event", bulk: false },
])("outbox relay ($mode)", ({ bulk }) => {
  it("when two relays drain the same outbox at once, then every event is on the broker exactly once, in order per task, as a CloudEvent with the row id", async () => {
    const perKey = 12;
    const { tasks, ids } = await writeEvents(25, perKey);
    // Small batches, so the relays interleave over many rounds and often hold rows of the same task.
    const relays = [
      relayFor(sidecar.url, sidecar.apiToken, { bulk, batchSize: 17 }),
      relayFor(sidecar.url, sidecar.apiToken, { bulk, batchSize: 23 }),
    ];

    await drain(relays, ids);

    const byTask = await delivered(ids);
    expectInOrder(byTask, tasks, perKey);
    const sample = byTask.get(tasks[0] ?? "")?.[0];
    expect(sample?.event).toMatchObject({
      specversion: "1.0",
      type: EVENT_TYPES.taskUpdated,
      source: "/taskmesh/task-api",
      data: { taskId: tasks[0], sequence: 1 },
    });
  });

  it("when one of two relays cannot reach any sidecar, then its rows wait out their backoff and the other relay still publishes every event once, in order per task", async () => {
    const perKey = 8;
    const { tasks, ids } = await writeEvents(15, perKey);
    const healthy = relayFor(sidecar.url, sidecar.apiToken, { bulk, batchSize: 19 });
    // A sidecar address where nothing listens: every publish fails at once.
    const cut = relayFor("http://127.0.0.1:9", sidecar.apiToken, { bulk, batchSize: 11 });
    // The cut relay claims first, so some tasks start with a failed row in backoff.
    expect(await cut.runOnce()).toBe(0);
    const failed = await pool.query<{ attempts: number; last_error: string | null }>(
      "SELECT attempts, last_error FROM outbox_events WHERE id = ANY($1::uuid[]) AND attempts > 0",
      [ids],
    );
    expect(failed.rows.length).toBeGreaterThan(0);

    await drain([healthy, cut], ids);

    expectInOrder(await delivered(ids), tasks, perKey);
  });
});

describe("outbox relay and an unavailable sidecar", () => {
  it("when the sidecar is down, then the rows stay with their attempts, error and backoff, and the running relay publishes them once it is back", async () => {
    const { tasks, ids } = await writeEvents(3, 2);
    const relay = relayFor(sidecar.url, sidecar.apiToken, { bulk: true, batchSize: 100 });
    await stack.kill("task-api", "sidecar", "SIGTERM");
    try {
      const before = Date.now();
      expect(await relay.runOnce()).toBe(0);

      const { rows } = await pool.query<{ attempts: number; last_error: string; available_at: Date }>(
        "SELECT attempts, last_error, available_at FROM outbox_events WHERE id = ANY($1::uuid[]) ORDER BY id",
        [ids],
      );
      expect(rows).toHaveLength(ids.length);
      // Only the first row of each task was tried; the newer ones wait behind it untouched.
      const tried = rows.filter((r) => r.attempts === 1);
      expect(tried).toHaveLength(tasks.length);
      for (const row of tried) {
        expect(row.last_error).toMatch(/unreachable/);
        expect(row.available_at.getTime()).toBeGreaterThan(before);
      }
      expect(rows.filter((r) => r.attempts === 0)).toHaveLength(ids.length - tasks.length);

      // A second failure waits longer (the backoff doubles up to its cap).
      relay.start();
      await waitUntil(async () => {
        const { rows: again } = await pool.query<{ attempts: number }>(
          "SELECT max(attempts) AS attempts FROM outbox_events WHERE id = ANY($1::uuid[])",
          [ids],
        );
        return (again[0]?.attempts ?? 0) >= 2;
      });
    } finally {
      await stack.restart("task-api", "sidecar");
    }

    await waitUntil(async () => (await pending(ids)) === 0);
    await relay.stop();
    expectInOrder(await delivered(ids), tasks, 2);
  });

  it("when a relay with two lanes is started, then it publishes each new row as soon as it is woken, without waiting for its poll", async () => {
    const relay = createOutboxRelay({
      pool,
      sidecar: createSidecarClient({ baseUrl: sidecar.url, apiToken: sidecar.apiToken }),
      pubsub: PUBSUB_NAME,
      logger,
      batchSize: 100,
      bulkPublish: true,
      // Far longer than the test's deadline: only the wake-up can publish in time.
      pollIntervalMs: 3_600_000,
      lanes: 2,
      registry: new Registry(),
    });
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (let i = 0; i < 3; i++) {
        const { ids } = await writeEvents(1, 1);
        relay.wake();
        await waitUntil(async () => (await pending(ids)) === 0, 20_000);
      }
    } finally {
      await relay.stop();
    }
  });
});

describe("backoff", () => {
  it("when attempts grow, then the delay doubles within jitter and never exceeds the cap", () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 500, 60_000, low))).toEqual([250, 500, 1000, 2000]);
    expect([1, 2, 3, 4].map((a) => backoffDelay(a, 500, 60_000, high))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(40, 500, 60_000, high)).toBe(60_000);
    expect(backoffDelay(40, 500, 60_000, low)).toBe(30_000);
  });
});

describe("metrics", () => {
  it("when the relay publishes, then /metrics counts it and reports the backlog and the age of the oldest pending row", async () => {
    const registry = new Registry();
    const relay = createOutboxRelay({
      pool,
      sidecar: createSidecarClient({ baseUrl: sidecar.url, apiToken: sidecar.apiToken }),
      pubsub: PUBSUB_NAME,
      logger,
      batchSize: 500,
      bulkPublish: true,
      registry,
    });
    await drain([relay], []);
    const { ids } = await writeEvents(2, 2);
    const waiting = await registry.metrics();
    expect(waiting).toMatch(/^outbox_pending_events [1-9]\d*$/m);
    expect(waiting).toMatch(/^outbox_oldest_pending_age_seconds \d/m);

    await drain([relay], ids);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const after = await registry.metrics();
    expect(after).toMatch(/^outbox_events_published_total [1-9]\d*$/m);
    expect(after).toMatch(/^outbox_pending_events 0$/m);
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
