import { randomUUID } from "node:crypto";
import { createPrismaClient, type PrismaClient } from "@taskmesh/db";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDeletedUser } from "../../services/notifications/src/data/deleted-user.repository.ts";
import {
  latestStreamPosition,
  streamEventsAfter,
} from "../../services/notifications/src/data/stream-event.repository.ts";
import { createWebhookRepository } from "../../services/notifications/src/data/webhook.repository.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";

// notifications' user id columns are uuid: a user id that is no UUID (an old 32-character id, a
// made-up one) names no user. Its reads answer nothing rather than failing the cast (a 500).

const NOT_UUIDS = ["user-1", "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA"];

let db: TestDatabase;
let pool: pg.Pool;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = testPool(db.connectionString, 2);
  prisma = createPrismaClient({ connectionString: db.connectionString, poolMax: 2 });
});

afterAll(async () => {
  await prisma.$disconnect();
  await pool.end();
  await db.drop();
});

describe("when notifications' repositories are asked about a user id that is not a UUID", () => {
  it.each(NOT_UUIDS)("then %s has no webhooks, and deleting one finds none", async (userId) => {
    const webhooks = createWebhookRepository(prisma);
    expect(await webhooks.findPage(userId, undefined, 10)).toEqual({ data: [], next: undefined });
    expect(await webhooks.find(userId, randomUUID())).toBeUndefined();
    expect(await webhooks.delete(userId, randomUUID())).toBe(false);
  });

  it.each(NOT_UUIDS)("then %s has no stream events and is no deleted account", async (userId) => {
    expect(await streamEventsAfter(pool, userId, 0n, 10)).toEqual([]);
    expect(await latestStreamPosition(pool, userId)).toBe(0n);
    expect(await isDeletedUser(pool, userId)).toBe(false);
  });
});
