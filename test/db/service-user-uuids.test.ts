import { createHash } from "node:crypto";
import { applyMigrations, revertMigrations } from "@taskmesh/db";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog, type Catalog } from "./catalog.ts";
import { migrationsUntil } from "./migrations-until.ts";

// 20261207230000_service_user_uuids on a database that went through 20261207170000_uuid_ids with
// rows made under the old schema (Better Auth's 32-character ids), plus rows with old ids written
// after uuid_ids (an event still in flight, a tombstone): every old id must become the UUID
// uuid_ids gave it, whichever of the two migrations mapped it. Then its down.sql, then up again.

const OLD_ALICE = "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const OLD_BOB = "bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const OLD_GONE = "goneGGGGGGGGGGGGGGGGGGGGGGGGGGGG";

const COLUMNS = [
  "audit_entries",
  "audit_deleted_users",
  "reminders",
  "webhooks",
  "webhook_deliveries",
  "stream_events",
  "notification_deleted_users",
  "stream_tickets",
] as const;

/** uuid_ids' mapping, written again from its description: md5 of the old id, version 8 bits set. */
function v8(old: string): string {
  const hex = createHash("md5").update(old).digest("hex");
  const variant = "89ab"[Number.parseInt(hex.slice(16, 18), 16) % 4] ?? "";
  const id = `${hex.slice(0, 12)}8${hex.slice(13, 16)}${variant}${hex.slice(17)}`;
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
}

const id = (n: number): string => `0190a5f0-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;

let db: TestDatabase;
let client: pg.Client;
let beforeUuidIds: Awaited<ReturnType<typeof migrationsUntil>>;
let throughUuidIds: Awaited<ReturnType<typeof migrationsUntil>>;
// Ends with this migration, so that "revert 1 step" reverts it whatever comes after it.
let throughServiceUuids: Awaited<ReturnType<typeof migrationsUntil>>;
let previousCatalog: Catalog;
let alice = "";
let bob = "";

beforeAll(async () => {
  [beforeUuidIds, throughUuidIds, throughServiceUuids] = await Promise.all([
    migrationsUntil("20261207163000_deleted_users"),
    migrationsUntil("20261207170000_uuid_ids"),
    migrationsUntil("20261207230000_service_user_uuids"),
  ]);
  db = await createTestDatabase({ migrated: false });
  await applyMigrations({ connectionString: db.connectionString, migrationsDir: beforeUuidIds.dir });
  client = new pg.Client({ connectionString: db.connectionString });
  await client.connect();
  await seedOldRows();
  await applyMigrations({ connectionString: db.connectionString, migrationsDir: throughUuidIds.dir });
  const { rows } = await client.query<{ id: string; email: string }>("SELECT id, email FROM users");
  alice = rows.find((row) => row.email === "alice@example.test")?.id ?? "";
  bob = rows.find((row) => row.email === "bob@example.test")?.id ?? "";
  await seedLateRows();
  previousCatalog = await readCatalog(db.connectionString);
  await applyMigrations({ connectionString: db.connectionString, migrationsDir: throughServiceUuids.dir });
});

afterAll(async () => {
  await client.end();
  await db.drop();
  await Promise.all([beforeUuidIds.remove(), throughUuidIds.remove(), throughServiceUuids.remove()]);
});

/** Rows as the services wrote them before uuid_ids: Better Auth's ids everywhere. */
async function seedOldRows(): Promise<void> {
  await client.query(`
    INSERT INTO users (id, name, email, updated_at) VALUES
      ('${OLD_ALICE}', 'Alice', 'alice@example.test', now()),
      ('${OLD_BOB}', 'Bob', 'bob@example.test', now());
    INSERT INTO audit_entries (event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at) VALUES
      ('${id(1)}', '${id(101)}', '${OLD_ALICE}', 1, 'dev.taskmesh.task.created.v1',
       '{"kind": "user", "id": "${OLD_ALICE}"}', '{}', '{}', now());
    INSERT INTO audit_deleted_users (user_id, deleted_at) VALUES ('${OLD_GONE}', now());
    INSERT INTO reminders (task_id, user_id, remind_at, title, task_sequence) VALUES
      ('${id(101)}', '${OLD_ALICE}', now(), 'A', 1);
    INSERT INTO webhooks (id, user_id, url, event_types, secret) VALUES
      ('${id(201)}', '${OLD_BOB}', 'https://example.test/hook', '{dev.taskmesh.task.created.v1}', 's');
    INSERT INTO webhook_deliveries (id, webhook_id, user_id, event_id, event_type, payload) VALUES
      ('${id(202)}', '${id(201)}', '${OLD_BOB}', '${id(2)}', 'dev.taskmesh.task.created.v1', '{}');
    INSERT INTO stream_events (event_id, user_id, type, event) VALUES
      ('${id(3)}', '${OLD_ALICE}', 'dev.taskmesh.task.created.v1', '{}');
    INSERT INTO stream_tickets (ticket_hash, user_id, expires_at) VALUES
      (repeat('a', 64), '${OLD_ALICE}', now() + interval '1 minute');
  `);
}

/**
 * Rows with old ids written between the two migrations, while these columns were still text:
 * events published before uuid_ids and delivered after it, a deletion delivered late.
 */
async function seedLateRows(): Promise<void> {
  await client.query(`
    INSERT INTO audit_entries (event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at) VALUES
      ('${id(4)}', '${id(102)}', '${OLD_BOB}', 1, 'dev.taskmesh.task.created.v1',
       '{"kind": "service", "id": "recurring-tasks"}', '{}', '{}', now()),
      ('${id(5)}', '${id(101)}', '${alice}', 2, 'dev.taskmesh.task.updated.v1',
       '{"kind": "user", "id": "${alice}"}', '{}', '{}', now());
    INSERT INTO reminders (task_id, user_id, remind_at, title, task_sequence) VALUES
      ('${id(102)}', '${OLD_BOB}', now(), 'B', 1);
    INSERT INTO stream_events (event_id, user_id, type, event) VALUES
      ('${id(6)}', '${OLD_BOB}', 'dev.taskmesh.task.created.v1', '{}');
    INSERT INTO notification_deleted_users (user_id, deleted_at) VALUES ('${OLD_GONE}', now());
  `);
}

async function column(table: string): Promise<string> {
  const { rows } = await client.query<{ data_type: string }>(
    "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = 'user_id'",
    [table],
  );
  return rows[0]?.data_type ?? "";
}

async function ownersOf(table: string, where = "true"): Promise<string[]> {
  const { rows } = await client.query<{ user_id: string }>(
    `SELECT user_id::text FROM ${table} WHERE ${where} ORDER BY user_id`,
  );
  return rows.map((row) => row.user_id);
}

describe("when service_user_uuids migrates audit-log's and notifications' user ids", () => {
  it("then uuid_ids gave the users the UUIDs its md5 mapping describes", () => {
    expect(alice).toBe(v8(OLD_ALICE));
    expect(bob).toBe(v8(OLD_BOB));
  });

  it("then every user id column is a uuid", async () => {
    for (const table of COLUMNS) expect(await column(table), table).toBe("uuid");
  });

  it("then rows uuid_ids rewrote keep their owner", async () => {
    expect(await ownersOf("audit_entries", `event_id = '${id(1)}'`)).toEqual([alice]);
    expect(await ownersOf("reminders", `task_id = '${id(101)}'`)).toEqual([alice]);
    expect(await ownersOf("webhooks")).toEqual([bob]);
    expect(await ownersOf("webhook_deliveries")).toEqual([bob]);
    expect(await ownersOf("stream_events", `event_id = '${id(3)}'`)).toEqual([alice]);
    expect(await ownersOf("stream_tickets")).toEqual([alice]);
    expect(await ownersOf("audit_deleted_users")).toEqual([v8(OLD_GONE)]);
  });

  it("then an old id written after uuid_ids becomes the same UUID uuid_ids gave it", async () => {
    expect(await ownersOf("audit_entries", `event_id = '${id(4)}'`)).toEqual([bob]);
    expect(await ownersOf("audit_entries", `event_id = '${id(5)}'`)).toEqual([alice]);
    expect(await ownersOf("reminders", `task_id = '${id(102)}'`)).toEqual([bob]);
    expect(await ownersOf("stream_events", `event_id = '${id(6)}'`)).toEqual([bob]);
    // Mapped by this migration, the same account's tombstone in audit-log by uuid_ids.
    expect(await ownersOf("notification_deleted_users")).toEqual(await ownersOf("audit_deleted_users"));
  });

  it("then the actors stay as delivered: a service's app id is no user id", async () => {
    const { rows } = await client.query<{ actor: unknown }>(
      "SELECT actor FROM audit_entries ORDER BY event_id",
    );
    expect(rows.map((row) => row.actor)).toEqual([
      { kind: "user", id: OLD_ALICE },
      { kind: "service", id: "recurring-tasks" },
      { kind: "user", id: alice },
    ]);
  });

  it("then a user's rows are found by the UUID a query now passes", async () => {
    const { rows } = await client.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM audit_entries WHERE user_id = $1",
      [alice],
    );
    expect(rows[0]?.count).toBe(2);
    await expect(
      client.query("SELECT 1 FROM audit_entries WHERE user_id = $1", [OLD_ALICE]),
    ).rejects.toMatchObject({ code: "22P02" });
  });

  it("then down.sql returns the previous migration's schema with the UUID values, and up works again", async () => {
    const migrationsDir = throughServiceUuids.dir;
    await revertMigrations({ connectionString: db.connectionString, migrationsDir, steps: 1 });
    expect(await readCatalog(db.connectionString)).toEqual(previousCatalog);
    for (const table of COLUMNS) expect(await column(table), table).toBe("text");
    expect(await ownersOf("audit_entries", `event_id = '${id(4)}'`)).toEqual([bob]);
    expect(await ownersOf("webhooks")).toEqual([bob]);
    await applyMigrations({ connectionString: db.connectionString, migrationsDir });
    for (const table of COLUMNS) expect(await column(table), table).toBe("uuid");
    expect(await ownersOf("audit_entries", `event_id = '${id(4)}'`)).toEqual([bob]);
    expect(await ownersOf("stream_tickets")).toEqual([alice]);
  });
});
