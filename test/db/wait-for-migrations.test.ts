import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import readline from "node:readline";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import { applyMigrations, readMigrationsDirectory } from "@taskmesh/db";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";

const script = path.resolve(import.meta.dirname, "../../scripts/migrate/wait-for-migrations.mjs");
const databases: TestDatabase[] = [];

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

async function database(migrated: boolean): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated });
  databases.push(db);
  return db;
}

interface Waiter {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  exit: Promise<number | null>;
  /** Resolves once a log line's msg contains `text`. */
  logged(text: string): Promise<void>;
}

/** Runs the script as the initContainer does: plain node, the image's environment variables. */
function waitForMigrations(env: Record<string, string>): Waiter {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? "", WAIT_FOR_MIGRATIONS_INTERVAL_MS: "100", ...env },
  });
  const lines: string[] = [];
  const listeners: (() => void)[] = [];
  const onLine = (line: string): void => {
    lines.push(line);
    for (const listener of listeners) listener();
  };
  readline.createInterface({ input: child.stdout }).on("line", onLine);
  readline.createInterface({ input: child.stderr }).on("line", onLine);
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    lines,
    exit,
    logged: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (lines.some((l) => (JSON.parse(l) as { msg: string }).msg.includes(text))) resolve();
        };
        listeners.push(check);
        check();
        void exit.then(() => {
          check();
          reject(new Error(`exited before logging "${text}":\n${lines.join("\n")}`));
        });
      }),
  };
}

function messages(waiter: Waiter): { level: string; msg: string; pending?: string[] }[] {
  return waiter.lines.map((l) => JSON.parse(l) as { level: string; msg: string; pending?: string[] });
}

async function execute(connectionString: string, sql: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

describe("wait-for-migrations (the services' initContainer)", () => {
  it("when the database has no _prisma_migrations yet, then it waits; when the migrations are applied, then it exits 0", async () => {
    const db = await database(false);
    const waiter = waitForMigrations({
      DATABASE_URL: db.connectionString,
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "60",
    });
    await waiter.logged("the _prisma_migrations table does not exist yet");
    expect(waiter.child.exitCode).toBeNull();

    await applyMigrations({ connectionString: db.connectionString });
    expect(await waiter.exit, waiter.lines.join("\n")).toBe(0);
    const { migrations } = await readMigrationsDirectory();
    expect(messages(waiter).at(-1)?.msg).toBe(`all ${migrations.length} migrations are applied`);
  });

  it("when only the first migrations are applied, then it names the pending ones and exits 0 after the rest", async () => {
    const db = await database(false);
    const { migrations } = await readMigrationsDirectory();
    const first = migrations.slice(0, 2).map((m) => m.name);
    // The applier applies everything; remove the later rows' bookkeeping to look half-way.
    await applyMigrations({ connectionString: db.connectionString });
    await execute(
      db.connectionString,
      "DELETE FROM _prisma_migrations WHERE NOT (migration_name = ANY($1))",
      [first],
    );

    const waiter = waitForMigrations({
      DATABASE_URL: db.connectionString,
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "60",
    });
    await waiter.logged(`${migrations.length - 2} of ${migrations.length} migrations not applied yet`);
    const waiting = messages(waiter).find((m) => m.pending);
    expect(waiting?.pending).toEqual(migrations.slice(2).map((m) => m.name));

    for (const migration of migrations.slice(2)) {
      await execute(
        db.connectionString,
        `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
         VALUES (gen_random_uuid()::text, $1, $2, now(), now(), 1)`,
        [migration.checksum, migration.name],
      );
    }
    expect(await waiter.exit, waiter.lines.join("\n")).toBe(0);
  });

  it("when a migration failed (started, never finished) or was rolled back, then it is not counted as applied and the timeout exits 1 naming it", async () => {
    const db = await database(true);
    const { migrations } = await readMigrationsDirectory();
    const failed = migrations.at(-1)?.name ?? "";
    const rolledBack = migrations.at(-2)?.name ?? "";
    await execute(
      db.connectionString,
      "UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1",
      [failed],
    );
    await execute(
      db.connectionString,
      "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1",
      [rolledBack],
    );

    const waiter = waitForMigrations({
      DATABASE_URL: db.connectionString,
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "1",
    });
    expect(await waiter.exit).toBe(1);
    const final = messages(waiter).at(-1);
    expect(final?.level).toBe("error");
    expect(final?.msg).toBe(
      `timed out after 1 s waiting for migrations: migration ${failed} failed (started, never finished)`,
    );
    expect(final?.pending?.sort()).toEqual([rolledBack, failed].sort());
  });

  it("when the database does not exist yet, then it waits; once it is created and migrated, then it exits 0", async () => {
    const adminUrl = new URL(inject("postgresAdminUrl"));
    const name = `wait_${Date.now().toString(36)}`;
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    // Prisma-only parameters must not reach the server (pg would send them as settings).
    url.searchParams.set("schema", "public");
    url.searchParams.set("connection_limit", "3");
    const waiter = waitForMigrations({
      DATABASE_URL: url.toString(),
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "60",
    });
    try {
      await waiter.logged("the database does not exist yet");
      await execute(adminUrl.toString(), `CREATE DATABASE ${name}`);
      const plain = new URL(url);
      plain.search = "";
      await applyMigrations({ connectionString: plain.toString() });
      expect(await waiter.exit, waiter.lines.join("\n")).toBe(0);
    } finally {
      if (waiter.child.exitCode === null) waiter.child.kill("SIGKILL");
      await execute(adminUrl.toString(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });

  it("when nothing listens at the database's address, then it exits 1 at the timeout saying the database is not reachable", async () => {
    const waiter = waitForMigrations({
      DATABASE_URL: "postgresql://taskmesh@127.0.0.1:1/taskmesh",
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "1",
    });
    expect(await waiter.exit).toBe(1);
    expect(messages(waiter).at(-1)?.msg).toMatch(
      /^timed out after 1 s waiting for migrations: the database is not reachable yet \(ECONNREFUSED/,
    );
  });

  it("when DATABASE_URL is missing or the migrations directory is wrong, then it exits 1 at once saying so", async () => {
    const noUrl = waitForMigrations({});
    expect(await noUrl.exit).toBe(1);
    expect(messages(noUrl).at(-1)?.msg).toBe("DATABASE_URL is not set");

    const badDir = waitForMigrations({
      DATABASE_URL: "postgresql://127.0.0.1:1/x",
      MIGRATIONS_DIR: "/nonexistent",
    });
    expect(await badDir.exit).toBe(1);
    expect(messages(badDir).at(-1)?.msg).toMatch(/^cannot read the migrations directory \/nonexistent/);

    const badTimeout = waitForMigrations({
      DATABASE_URL: "postgresql://127.0.0.1:1/x",
      WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS: "soon",
    });
    expect(await badTimeout.exit).toBe(1);
    expect(messages(badTimeout).at(-1)?.msg).toBe(
      'WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS must be a positive number, got "soon"',
    );
  });
});
