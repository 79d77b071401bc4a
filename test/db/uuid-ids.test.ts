import { applyMigrations, createPrismaClient, revertMigrations } from "@taskmesh/db";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog, type Catalog } from "./catalog.ts";
import { migrationsUntil } from "./migrations-until.ts";
import { createTestAuth } from "./test-auth.ts";

// 20261207170000_uuid_ids on a database with rows made under the old schema (Better Auth's
// 32-character ids), then its down.sql, then up again. The migrations after it are left out
// (20261207230000_service_user_uuids has its own test), so it is the newest one here.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const OLD_ALICE = "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const OLD_BOB = "bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const OLD_GONE = "goneGGGGGGGGGGGGGGGGGGGGGGGGGGGG";
const KEPT = "0190a5f0-0000-7000-8000-000000000001";

let db: TestDatabase;
let client: pg.Client;
let previousCatalog: Catalog;
let migrations: Awaited<ReturnType<typeof migrationsUntil>>;

beforeAll(async () => {
  migrations = await migrationsUntil("20261207170000_uuid_ids");
  db = await createTestDatabase({ migrated: false });
  await applyMigrations({ connectionString: db.connectionString, migrationsDir: migrations.dir });
  await revertMigrations({ connectionString: db.connectionString, migrationsDir: migrations.dir, steps: 1 });
  previousCatalog = await readCatalog(db.connectionString);
  client = new pg.Client({ connectionString: db.connectionString });
  await client.connect();
  await seedOldRows();
});

afterAll(async () => {
  await client.end();
  await db.drop();
  await migrations.remove();
});

async function seedOldRows(): Promise<void> {
  await client.query(`
    INSERT INTO users (id, name, email, updated_at) VALUES
      ('${OLD_ALICE}', 'Alice', 'alice@example.test', now()),
      ('${OLD_BOB}', 'Bob', 'bob@example.test', now()),
      ('${KEPT}', 'Kept', 'kept@example.test', now());
    INSERT INTO sessions (id, token, user_id, expires_at, updated_at) VALUES
      ('sessAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'tokA', '${OLD_ALICE}', now() + interval '1 day', now());
    INSERT INTO accounts (id, account_id, provider_id, user_id, updated_at) VALUES
      ('accAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '${OLD_ALICE}', 'credential', '${OLD_ALICE}', now()),
      ('accBBBBBBBBBBBBBBBBBBBBBBBBBBBBB', '${OLD_BOB}', 'credential', '${OLD_BOB}', now());
    INSERT INTO verifications (id, identifier, value, expires_at, updated_at) VALUES
      ('verAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'x', 'y', now(), now());
    INSERT INTO lists (id, user_id, name, updated_at) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a1', '${OLD_ALICE}', 'Alice list', now()),
      ('0190a5f0-0000-7000-8000-0000000000b1', '${OLD_BOB}', 'Bob list', now());
    INSERT INTO tasks (id, user_id, list_id, title, updated_at) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a2', '${OLD_ALICE}', '0190a5f0-0000-7000-8000-0000000000a1', 'A', now()),
      ('0190a5f0-0000-7000-8000-0000000000b2', '${OLD_BOB}', '0190a5f0-0000-7000-8000-0000000000b1', 'B', now());
    INSERT INTO tasks (id, user_id, parent_id, title, updated_at) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a3', '${OLD_ALICE}', '0190a5f0-0000-7000-8000-0000000000a2', 'A sub', now());
    INSERT INTO tags (id, user_id, name, normalized_name) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a4', '${OLD_ALICE}', 'Home', 'home');
    INSERT INTO task_tags (user_id, task_id, tag_id) VALUES
      ('${OLD_ALICE}', '0190a5f0-0000-7000-8000-0000000000a2', '0190a5f0-0000-7000-8000-0000000000a4');
    INSERT INTO personal_access_tokens (user_id, id, name, scope, token_hash, prefix, expires_at) VALUES
      ('${OLD_ALICE}', '0190a5f0-0000-7000-8000-0000000000a5', 'cli', 'read', repeat('a', 64), 'tm_', now() + interval '1 day');
    INSERT INTO audit_entries (event_id, task_id, user_id, sequence, type, actor, changes, task, occurred_at) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a6', '0190a5f0-0000-7000-8000-0000000000a2', '${OLD_ALICE}', 1,
       'dev.taskmesh.task.created.v1', '{}', '{}', '{}', now());
    INSERT INTO audit_deleted_users (user_id, deleted_at) VALUES ('${OLD_GONE}', now());
    INSERT INTO outbox_events (id, topic, type, partition_key, data) VALUES
      ('0190a5f0-0000-7000-8000-0000000000a7', 'task-events', 'dev.taskmesh.task.created.v1', 'k',
       '{"userId": "${OLD_ALICE}", "task": {"userId": "${OLD_ALICE}"}, "actor": {"kind": "user", "id": "${OLD_ALICE}"}}'),
      ('0190a5f0-0000-7000-8000-0000000000a8', 'user-events', 'dev.taskmesh.user.deleted.v1', 'k',
       '{"userId": "${OLD_GONE}", "actor": {"kind": "service", "id": "recurring-tasks"}}');
  `);
}

async function column(table: string, name: string): Promise<string> {
  const { rows } = await client.query<{ data_type: string }>(
    "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
    [table, name],
  );
  return rows[0]?.data_type ?? "";
}

async function ownerOf(table: string, where: string): Promise<string> {
  const { rows } = await client.query<{ user_id: string }>(`SELECT user_id FROM ${table} WHERE ${where}`);
  return rows[0]?.user_id ?? "";
}

describe("when uuid_ids migrates rows made with 32-character ids", () => {
  let alice = "";
  let bob = "";

  beforeAll(async () => {
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: migrations.dir });
    const { rows } = await client.query<{ id: string; email: string }>("SELECT id, email FROM users");
    alice = rows.find((row) => row.email === "alice@example.test")?.id ?? "";
    bob = rows.find((row) => row.email === "bob@example.test")?.id ?? "";
  });

  it("then every id is a UUID and a UUID-valued id keeps its value", async () => {
    const { rows } = await client.query<{ id: string }>("SELECT id FROM users ORDER BY email");
    expect(rows.map((row) => row.id)).toEqual([alice, bob, KEPT]);
    for (const id of [alice, bob]) expect(id).toMatch(UUID);
    expect(alice).not.toBe(bob);
    for (const table of ["sessions", "accounts", "verifications"]) {
      const ids = await client.query<{ id: string }>(`SELECT id FROM ${table}`);
      for (const row of ids.rows) expect(row.id).toMatch(UUID);
    }
    expect(await column("users", "id")).toBe("uuid");
    expect(await column("tasks", "user_id")).toBe("uuid");
    expect(await column("personal_access_tokens", "user_id")).toBe("uuid");
    expect(await column("audit_entries", "user_id")).toBe("text");
  });

  it("then every row still belongs to the same owner", async () => {
    expect(await ownerOf("sessions", "token = 'tokA'")).toBe(alice);
    expect(await ownerOf("accounts", `account_id = '${OLD_BOB}'`)).toBe(bob);
    expect(await ownerOf("lists", "name = 'Alice list'")).toBe(alice);
    expect(await ownerOf("lists", "name = 'Bob list'")).toBe(bob);
    expect(await ownerOf("tasks", "title = 'A sub'")).toBe(alice);
    expect(await ownerOf("tasks", "title = 'B'")).toBe(bob);
    expect(await ownerOf("task_tags", "true")).toBe(alice);
    expect(await ownerOf("tags", "true")).toBe(alice);
    expect(await ownerOf("personal_access_tokens", "true")).toBe(alice);
    expect(await ownerOf("audit_entries", "true")).toBe(alice);
    expect(await ownerOf("audit_deleted_users", "true")).toMatch(UUID);
  });

  it("then the foreign keys are all back and hold", async () => {
    const { rows } = await client.query<{ count: string }>(
      "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    );
    expect(Number(rows[0]?.count)).toBeGreaterThan(15);
    await expect(
      client.query(
        "INSERT INTO tasks (id, user_id, list_id, title, updated_at) VALUES (gen_random_uuid(), $1, '0190a5f0-0000-7000-8000-0000000000a1', 'x', now())",
        [bob],
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it("then pending outbox events carry the new user ids", async () => {
    const { rows } = await client.query<{ data: Record<string, unknown> }>(
      "SELECT data FROM outbox_events ORDER BY id",
    );
    expect(rows[0]?.data).toEqual({
      userId: alice,
      task: { userId: alice },
      actor: { kind: "user", id: alice },
    });
    const gone = await ownerOf("audit_deleted_users", "true");
    expect(rows[1]?.data).toEqual({ userId: gone, actor: { kind: "service", id: "recurring-tasks" } });
  });

  it("then a sign-up makes UUID ids", async () => {
    const prisma = createPrismaClient({ connectionString: db.connectionString });
    try {
      const auth = createTestAuth(prisma);
      const result = await auth.api.signUpEmail({
        body: { name: "Carol", email: "carol@example.test", password: "correct horse battery" },
      });
      expect(result.user.id).toMatch(UUID);
      const session = await prisma.session.findFirstOrThrow({ where: { userId: result.user.id } });
      expect(session.id).toMatch(UUID);
      const account = await prisma.account.findFirstOrThrow({ where: { userId: result.user.id } });
      expect(account.id).toMatch(UUID);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("then down.sql returns the previous migration's schema, and up works again", async () => {
    await revertMigrations({
      connectionString: db.connectionString,
      migrationsDir: migrations.dir,
      steps: 1,
    });
    expect(await readCatalog(db.connectionString)).toEqual(previousCatalog);
    expect(await column("users", "id")).toBe("text");
    expect(await ownerOf("tasks", "title = 'A sub'")).toBe(alice);
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: migrations.dir });
    expect(await column("users", "id")).toBe("uuid");
    expect(await ownerOf("tasks", "title = 'A sub'")).toBe(alice);
  });
});
