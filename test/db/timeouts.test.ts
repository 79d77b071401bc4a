import { databaseFailure } from "@taskmesh/core";
import { createPool, createPrismaClient, DATABASE_TIMEOUT_DEFAULTS, type PrismaClient } from "@taskmesh/db";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";
import { startWebhookHarness, type WebhookHarness } from "../notifications/webhook-harness.ts";

let db: TestDatabase;
const pools: pg.Pool[] = [];
const clients: PrismaClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all([...pools.map((p) => p.end()), ...clients.map((c) => c.$disconnect())]);
  await db.drop();
});

/** How long a promise took to settle, and its error. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  try {
    await work;
    return { ms: performance.now() - started, error: undefined };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

describe("statement_timeout and idle_in_transaction_session_timeout on every pool", () => {
  it("when a pool runs SELECT pg_sleep(10) with the defaults, then PostgreSQL cancels it after 5 s with 57014", async () => {
    const pool = createPool({
      connectionString: db.connectionString,
      max: 1,
      onConnectionError: () => undefined,
    });
    pools.push(pool);
    const { ms, error } = await timed(pool.query("SELECT pg_sleep(10)"));
    expect(DATABASE_TIMEOUT_DEFAULTS.statementTimeoutMs).toBe(5_000);
    expect((error as { code?: string }).code).toBe("57014");
    expect((error as Error).message).toMatch(/statement timeout/);
    expect(ms).toBeGreaterThanOrEqual(4_900);
    expect(ms).toBeLessThan(8_000);
    expect(databaseFailure(error)).toBe("timeout");
    // The connection is still usable afterwards.
    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("when the Prisma client factory's pool runs pg_sleep(10), then it is cancelled too and classified as a timeout", async () => {
    const prisma = createPrismaClient({
      connectionString: db.connectionString,
      poolMax: 1,
      statementTimeoutMs: 300,
    });
    clients.push(prisma);
    const { ms, error } = await timed(prisma.$queryRawUnsafe("SELECT pg_sleep(10)"));
    expect(error).toBeDefined();
    expect(ms).toBeLessThan(3_000);
    expect(databaseFailure(error)).toBe("timeout");
  });

  it("when a transaction sits idle longer than the idle-in-transaction timeout, then the server ends the session", async () => {
    const pool = createPool({
      connectionString: db.connectionString,
      max: 1,
      idleInTransactionTimeoutMs: 200,
      onConnectionError: () => undefined,
    });
    pools.push(pool);
    const client = await pool.connect();
    await client.query("BEGIN");
    await new Promise((resolve) => setTimeout(resolve, 600));
    const { error } = await timed(client.query("SELECT 1"));
    client.release(true);
    expect(error).toBeDefined();
    // A fresh connection replaces the closed one.
    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });

  it("when a timeout is negative or fractional, then the pool refuses to start", () => {
    expect(() =>
      createPool({
        connectionString: db.connectionString,
        statementTimeoutMs: -1,
        onConnectionError: () => undefined,
      }),
    ).toThrow(/statementTimeoutMs/);
    expect(() =>
      createPool({
        connectionString: db.connectionString,
        idleInTransactionTimeoutMs: 1.5,
        onConnectionError: () => undefined,
      }),
    ).toThrow(/idleInTransactionTimeoutMs/);
  });
});

describe("a request whose statement hits the timeout", () => {
  let api: TestTaskApi;
  let locker: pg.Pool;

  beforeAll(async () => {
    api = await startTaskApi();
  });

  afterAll(async () => {
    await locker.end();
    await api.close();
  });

  it("when task-api's query waits on a lock beyond the statement timeout, then the client gets 503 problem+json, not a hang", async () => {
    const user = await api.signUp();
    // Another session holds the tasks table: every statement on it waits.
    const dbUrl = api.pool.options.connectionString ?? "";
    locker = testPool(dbUrl, 1);
    const holder = await locker.connect();
    await holder.query("SET idle_in_transaction_session_timeout = 0");
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
    try {
      const started = performance.now();
      const res = await api.publicRequest.get("/v1/tasks").set(user.auth);
      const ms = performance.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.headers["retry-after"]).toBeDefined();
      expect((res.body as { detail: string }).detail).toMatch(/time limit/);
      expect(JSON.stringify(res.body)).not.toMatch(/pg_sleep|canceling statement|127\.0\.0\.1/);
      expect(ms).toBeLessThan(9_000);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
    }
  });
});

describe("a notifications request whose statement hits the timeout", () => {
  let h: WebhookHarness;

  beforeAll(async () => {
    h = await startWebhookHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it("when the webhooks table is locked beyond the statement timeout, then GET /v1/webhooks answers 503 problem+json", async () => {
    const user = await h.signUp();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    // Another session holds the table (an interactive transaction through the same database).
    const holder = h.prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe("LOCK TABLE webhooks IN ACCESS EXCLUSIVE MODE");
        locked();
        await held;
      },
      { timeout: 20_000 },
    );
    try {
      await isLocked;
      const started = performance.now();
      const res = await h.request.get("/v1/webhooks").set(user.auth);
      expect(res.status).toBe(503);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect((res.body as { detail: string }).detail).toMatch(/time limit/);
      expect(performance.now() - started).toBeLessThan(9_000);
    } finally {
      release();
      await holder;
    }
  });
});
