import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  provisionServiceLogins,
  provisionStateLogins,
  scramVerifier,
  SERVICE_GROUPS,
} from "../../scripts/migrate/provision-roles.mjs";
import { provisionStackLogins } from "../../scripts/stack/postgres.ts";
import { createTestDatabase, testPool, type TestDatabase } from "../support/postgres.ts";

type Service = keyof typeof SERVICE_GROUPS;

let db: TestDatabase;
let stateDb: TestDatabase;
const pools: pg.Pool[] = [];
const as: Partial<Record<Service, pg.Pool>> = {};
const suffix = randomBytes(4).toString("hex");

function withUser(url: string, user: string, password: string): string {
  const out = new URL(url);
  out.username = user;
  out.password = password;
  return out.toString();
}

function pool(url: string): pg.Pool {
  const p = testPool(url, 2);
  pools.push(p);
  return p;
}

function role(service: Service): pg.Pool {
  const p = as[service];
  if (!p) throw new Error(`no pool for ${service}`);
  return p;
}

/** The SQLSTATE a statement fails with (undefined when it succeeds). */
async function failsWith(p: pg.Pool, sql: string, params: unknown[] = []): Promise<string | undefined> {
  try {
    await p.query(sql, params);
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

beforeAll(async () => {
  [db, stateDb] = await Promise.all([createTestDatabase(), createTestDatabase({ migrated: false })]);
  const logins = Object.fromEntries(
    (Object.keys(SERVICE_GROUPS) as Service[]).map((s) => [
      s,
      withUser(db.connectionString, `${SERVICE_GROUPS[s]}_${suffix}`, randomBytes(12).toString("hex")),
    ]),
  ) as Record<Service, string>;
  await provisionServiceLogins({ ownerUrl: db.connectionString, logins, log: () => undefined });
  for (const s of Object.keys(logins) as Service[]) as[s] = pool(logins[s]);
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await Promise.all([db.drop(), stateDb.drop()]);
});

const PRIVATE_TABLES: Record<Service, string[]> = {
  "task-api": ["users", "sessions", "accounts", "tasks", "outbox_events", "personal_access_tokens", "jwks"],
  "audit-log": ["audit_entries"],
  notifications: ["reminders", "webhooks", "webhook_deliveries", "stream_events"],
};

describe("database roles: one per service, its own tables only, no DDL", () => {
  it("when task-api's role signs a user up, writes a task and its outbox row, then each statement succeeds", async () => {
    const p = role("task-api");
    const userId = randomUUID();
    await p.query(
      `INSERT INTO users (id, name, email, email_verified, created_at, updated_at) VALUES ($1, 'u', $2, false, now(), now())`,
      [userId, `${userId}@example.test`],
    );
    await p.query(
      `INSERT INTO sessions (id, token, user_id, expires_at, created_at, updated_at) VALUES ($1, $2, $3, now() + interval '1 day', now(), now())`,
      [randomUUID(), randomUUID(), userId],
    );
    const task = await p.query<{ id: string }>(
      `INSERT INTO tasks (id, user_id, title, updated_at) VALUES ($1, $2, 'x', now()) RETURNING id`,
      [randomUUID(), userId],
    );
    expect(task.rowCount).toBe(1);
    await p.query(`UPDATE tasks SET title = 'y' WHERE id = $1`, [task.rows[0]?.id]);
    const sessions = await p.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [userId]);
    expect(sessions.rows[0]).toEqual({ n: 1 });
    await p.query(`DELETE FROM users WHERE id = $1`, [userId]);
  });

  it("when audit-log's role records and reads history, then it can", async () => {
    const p = role("audit-log");
    const columns = await p.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_entries'`,
    );
    expect(columns.rows.map((r) => r.column_name)).toContain("event_id");
    expect(await failsWith(p, "SELECT count(*) FROM audit_entries")).toBeUndefined();
  });

  it("when notifications' role stores a stream event (sequence) and a webhook and notifies, then it can", async () => {
    const p = role("notifications");
    expect(
      await failsWith(
        p,
        `INSERT INTO stream_events (event_id, user_id, type, event) VALUES ($1, gen_random_uuid(), 'task.created', '{}'::jsonb)`,
        [randomUUID()],
      ),
    ).toBeUndefined();
    expect(await failsWith(p, "SELECT pg_notify('stream', 'u1')")).toBeUndefined();
    expect(await failsWith(p, "SELECT count(*) FROM webhooks")).toBeUndefined();
    expect(await failsWith(p, "SELECT count(*) FROM reminders")).toBeUndefined();
  });

  it("when notifications' role reads sessions, tokens, users or tasks, then permission is denied", async () => {
    const p = role("notifications");
    for (const table of [
      "sessions",
      "accounts",
      "users",
      "tasks",
      "personal_access_tokens",
      "oauth_access_tokens",
      "jwks",
      "audit_entries",
    ])
      expect(await failsWith(p, `SELECT * FROM ${table} LIMIT 1`), table).toBe("42501");
  });

  it("when a service's role reads another service's tables, then permission is denied", async () => {
    for (const [service, p] of Object.entries(as) as [Service, pg.Pool][]) {
      for (const [other, tables] of Object.entries(PRIVATE_TABLES)) {
        if (other === service) continue;
        for (const table of tables)
          expect(await failsWith(p, `SELECT 1 FROM ${table} LIMIT 1`), `${service} reads ${table}`).toBe(
            "42501",
          );
      }
    }
  });

  it("when a service's role tries CREATE, ALTER, DROP or TRUNCATE, then each is refused", async () => {
    for (const [service, p] of Object.entries(as) as [Service, pg.Pool][]) {
      const own = PRIVATE_TABLES[service][0] ?? "";
      const statements = [
        `CREATE TABLE evil_${service.replace("-", "_")} (id int)`,
        `CREATE SCHEMA evil_${service.replace("-", "_")}`,
        `ALTER TABLE ${own} ADD COLUMN evil int`,
        `DROP TABLE ${own}`,
        `TRUNCATE ${own}`,
        `CREATE INDEX evil_idx ON ${own} ((1))`,
        `DELETE FROM "_prisma_migrations"`,
      ];
      for (const sql of statements) expect(await failsWith(p, sql), `${service}: ${sql}`).toBe("42501");
    }
  });

  it("when every table of the migrated schema is listed, then each is granted to a service role (a later migration cannot forget one)", async () => {
    const owner = pool(db.connectionString);
    const { rows } = await owner.query<{ table: string; grantees: string[] | null }>(
      `SELECT c.relname AS table,
              array_agg(DISTINCT g.grantee::text) FILTER (WHERE g.grantee IS NOT NULL) AS grantees
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN information_schema.role_table_grants g
           ON g.table_schema = 'public' AND g.table_name = c.relname AND g.grantee = ANY($1)
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'
        GROUP BY c.relname ORDER BY c.relname`,
      [Object.values(SERVICE_GROUPS)],
    );
    expect(rows.length).toBeGreaterThan(20);
    const ungranted = rows.filter((r) => (r.grantees ?? []).length === 0).map((r) => r.table);
    expect(ungranted).toEqual([]);
  });

  it("when a service's connection string names the migration role or a superuser, then provisioning refuses it", async () => {
    await expect(
      provisionServiceLogins({
        ownerUrl: db.connectionString,
        logins: { notifications: db.connectionString },
        log: () => undefined,
      }),
    ).rejects.toThrow(/administrator|migration role|owns/);
  });

  it("when a login is provisioned, then only its SCRAM verifier is sent (the one PostgreSQL computes) and the password works", async () => {
    const owner = pool(db.connectionString);
    // What the server stores for a password it hashed itself, recomputed with its salt.
    const probe = `scram_probe_${suffix}`;
    await owner.query(`SET password_encryption = 'scram-sha-256'`);
    await owner.query(`CREATE ROLE ${probe} LOGIN PASSWORD 'probe-password-0123'`);
    const stored = await owner.query<{ rolpassword: string }>(
      "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
      [probe],
    );
    const verifier = stored.rows[0]?.rolpassword ?? "";
    const [, iterations = "", salt = ""] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(verifier) ?? [];
    expect(scramVerifier("probe-password-0123", Buffer.from(salt, "base64"), Number(iterations))).toBe(
      verifier,
    );

    const password = randomBytes(12).toString("hex");
    const login = withUser(db.connectionString, `scram_login_${suffix}`, password);
    await provisionServiceLogins({
      ownerUrl: db.connectionString,
      logins: { "audit-log": login },
      log: () => undefined,
    });
    const row = await owner.query<{ rolpassword: string }>(
      "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
      [`scram_login_${suffix}`],
    );
    expect(row.rows[0]?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await failsWith(pool(login), "SELECT count(*) FROM audit_entries")).toBeUndefined();
  });

  it("when two services share one login, or a login owns tables or belongs to another service's role, then provisioning refuses it", async () => {
    const shared = withUser(db.connectionString, `shared_${suffix}`, "pw-0123456789");
    await expect(
      provisionServiceLogins({
        ownerUrl: db.connectionString,
        logins: { "task-api": shared, notifications: shared },
        log: () => undefined,
      }),
    ).rejects.toThrow(/share the login/);
    const owner = pool(db.connectionString);
    const lurker = `lurker_${suffix}`;
    await owner.query(`CREATE ROLE ${lurker} LOGIN PASSWORD 'pw-0123456789'`);
    await owner.query(`CREATE TABLE lurker_table_${suffix} (id int)`);
    await owner.query(`ALTER TABLE lurker_table_${suffix} OWNER TO ${lurker}`);
    await expect(
      provisionServiceLogins({
        ownerUrl: db.connectionString,
        logins: { notifications: withUser(db.connectionString, lurker, "pw-0123456789") },
        log: () => undefined,
      }),
    ).rejects.toThrow(/owns lurker_table/);
    await owner.query(`DROP TABLE lurker_table_${suffix}`);
    const taskApiLogin = `${SERVICE_GROUPS["task-api"]}_${suffix}`;
    await expect(
      provisionServiceLogins({
        ownerUrl: db.connectionString,
        logins: { notifications: withUser(db.connectionString, taskApiLogin, "pw-0123456789") },
        log: () => undefined,
      }),
    ).rejects.toThrow(/also a member of taskmesh_task_api/);
    // Refused before any change: task-api's login still works with its password.
    expect(await failsWith(role("task-api"), "SELECT count(*) FROM tasks")).toBeUndefined();
  });

  it("when the stack provisions its logins, then each app gets its own role and the apps without tables get none", async () => {
    const logins = await provisionStackLogins({
      databaseUrl: db.connectionString,
      stateDatabaseUrl: stateDb.connectionString,
      apps: ["task-api", "audit-log", "notifications", "recurring-tasks", "mcp-server"],
    });
    expect(Object.keys(logins.databaseUrls).sort()).toEqual(["audit-log", "notifications", "task-api"]);
    expect(Object.keys(logins.stateDatabaseUrls).sort()).toEqual(["notifications", "recurring-tasks"]);
    const users = Object.values(logins.databaseUrls).map((u) => new URL(u).username);
    expect(new Set(users).size).toBe(3);
    // A second start changes the passwords: the first run's credentials stop working.
    const again = await provisionStackLogins({
      databaseUrl: db.connectionString,
      stateDatabaseUrl: stateDb.connectionString,
      apps: ["notifications"],
    });
    expect(again.databaseUrls.notifications).not.toBe(logins.databaseUrls.notifications);
    const fresh = pool(again.databaseUrls.notifications ?? "");
    expect(await failsWith(fresh, "SELECT count(*) FROM webhooks")).toBeUndefined();
    expect(await failsWith(fresh, "SELECT count(*) FROM sessions")).toBe("42501");
    const stale = pool(logins.databaseUrls.notifications ?? "");
    expect(await failsWith(stale, "SELECT 1")).toBe("28P01");
  });

  it("when the state database is given as a libpq key=value string, then the stack says it needs a URL", async () => {
    await expect(
      provisionStackLogins({
        databaseUrl: db.connectionString,
        stateDatabaseUrl: "host=127.0.0.1 user=postgres dbname=taskmesh_dapr",
        apps: ["notifications"],
      }),
    ).rejects.toThrow(/TASKMESH_SECRET_STATE_DB_URL\) must be a postgres:\/\/ URL/);
  });

  it("when each Dapr state store connects as its role, then it creates its tables in its own schema and cannot read the other's", async () => {
    const owner = pool(stateDb.connectionString);
    // A table an older release left in public (the state stores shared one credential then).
    await owner.query(`CREATE TABLE public.notifications_state (key text PRIMARY KEY, value bytea)`);
    await owner.query(`INSERT INTO public.notifications_state VALUES ('k', '\\x00')`);
    const url = (component: string): string =>
      withUser(
        stateDb.connectionString,
        `taskmesh_${component.replaceAll("-", "_")}_${suffix}`,
        randomBytes(12).toString("hex"),
      );
    const logins = {
      "recurring-tasks-state": url("recurring-tasks-state"),
      "notifications-state": url("notifications-state"),
    };
    await provisionStateLogins({ ownerUrl: stateDb.connectionString, logins, log: () => undefined });

    const recurring = pool(logins["recurring-tasks-state"]);
    const notifications = pool(logins["notifications-state"]);
    // What daprd's state.postgresql v2 does at start: its tables, unqualified, on its search_path.
    expect(
      await failsWith(
        recurring,
        `CREATE TABLE IF NOT EXISTS recurring_tasks_state (key text PRIMARY KEY, value bytea NOT NULL)`,
      ),
    ).toBeUndefined();
    expect(
      await failsWith(
        recurring,
        `CREATE TABLE IF NOT EXISTS recurring_tasks_dapr_metadata (key text PRIMARY KEY, value text NOT NULL)`,
      ),
    ).toBeUndefined();
    const where = await owner.query<{ schema: string; owner: string }>(
      `SELECT schemaname AS schema, tableowner AS owner FROM pg_tables WHERE tablename = 'recurring_tasks_state'`,
    );
    expect(where.rows).toEqual([
      { schema: "recurring_tasks_state", owner: new URL(logins["recurring-tasks-state"]).username },
    ]);
    // The legacy table moved with its row, and belongs to its store now.
    const kept = await notifications.query<{ key: string }>(`SELECT key FROM notifications_state`);
    expect(kept.rows).toEqual([{ key: "k" }]);
    expect(await failsWith(notifications, `SELECT * FROM recurring_tasks_state.recurring_tasks_state`)).toBe(
      "42501",
    );
    expect(await failsWith(recurring, `SELECT * FROM notifications_state.notifications_state`)).toBe("42501");
    expect(await failsWith(recurring, `CREATE TABLE public.evil (id int)`)).toBe("42501");
    // Provisioning again (every npm start) keeps the tables and their rows.
    await provisionStateLogins({ ownerUrl: stateDb.connectionString, logins, log: () => undefined });
    expect((await notifications.query(`SELECT key FROM notifications_state`)).rowCount).toBe(1);
  });
});
