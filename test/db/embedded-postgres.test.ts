import { spawn } from "node:child_process";
import { freePort } from "@taskmesh/core";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { resolveDatabase, startEmbeddedPostgres, type RunningPostgres } from "@taskmesh/db";
import { createTestDatabase } from "../support/postgres.ts";

let root: string;
let dataDir: string;
const started: RunningPostgres[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "taskmesh-embedded-pg-"));
  await chmod(root, 0o755);
  dataDir = path.join(root, "data");
});

afterAll(async () => {
  for (const server of started.reverse()) await server.stop().catch(() => undefined);
  if (root) await rm(root, { recursive: true, force: true });
});

async function start(database: string, log?: (message: string) => void): Promise<RunningPostgres> {
  const server = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    database,
    ...(log ? { log } : {}),
  });
  started.push(server);
  return server;
}

async function databaseName(connectionString: string): Promise<string> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const [row] = (await client.query<{ name: string }>("SELECT current_database() AS name")).rows;
    return row?.name ?? "";
  } finally {
    await client.end();
  }
}

describe("startEmbeddedPostgres", () => {
  it("when the data directory is new, then it initialises a cluster, creates the database and reports progress", async () => {
    const messages: string[] = [];
    const server = await start("first_db", (message) => messages.push(message));

    expect(await databaseName(server.connectionString)).toBe("first_db");
    expect(messages.some((message) => message.startsWith("Initialising a PostgreSQL cluster"))).toBe(true);
    await server.stop();
  });

  it("when the data directory exists, then it keeps the data and creates a missing database", async () => {
    const first = await start("kept_db");
    const client = new pg.Client({ connectionString: first.connectionString });
    await client.connect();
    await client.query("CREATE TABLE kept (value TEXT); INSERT INTO kept VALUES ('still here')");
    await client.end();
    await first.stop();

    const messages: string[] = [];
    const second = await start("kept_db", (message) => messages.push(message));

    expect(messages.some((message) => message.startsWith("Initialising"))).toBe(false);
    const again = new pg.Client({ connectionString: second.connectionString });
    await again.connect();
    expect((await again.query("SELECT value FROM kept")).rows).toEqual([{ value: "still here" }]);
    await again.end();
    await second.stop();
  });

  it("when a crashed run left a postmaster.pid whose PID now belongs to another process, then it starts anyway", async () => {
    const server = await start("crash_db");
    const pidFile = path.join(dataDir, "postmaster.pid");
    const content = await readFile(pidFile, "utf8");
    await server.stop();
    // A live process of the cluster's owner that is no postmaster (nor the new postmaster's parent,
    // which PostgreSQL sees through): PostgreSQL alone refuses to start over its PID.
    const owner = await stat(dataDir);
    const bystander = spawn("sleep", ["60"], { stdio: "ignore", uid: owner.uid, gid: owner.gid });
    await writeFile(pidFile, content.replace(/^\d+/, String(bystander.pid)));

    const messages: string[] = [];
    const restarted = await start("crash_db", (message) => messages.push(message)).finally(() =>
      bystander.kill(),
    );

    expect(await databaseName(restarted.connectionString)).toBe("crash_db");
    expect(messages.some((message) => message.includes("stale postmaster.pid"))).toBe(true);
    await restarted.stop();
  });

  it("when the port is taken, then it fails at once with the server's explanation", async () => {
    const takenPort = Number(new URL(inject("postgresAdminUrl")).port);
    const elsewhere = path.join(root, "port-clash");

    const attempt = startEmbeddedPostgres({ dataDir: elsewhere, port: takenPort, database: "never" });

    await expect(attempt).rejects.toThrow(
      /did not start on port \d+ \(the server exited\)[\s\S]*Address already in use/,
    );
  });

  // As root the server runs as the postgres user, who cannot search a 0700 directory of root's
  // (a checkout in mktemp -d): initdb used to die on a bare EACCES (an uncaught spawn error).
  it.runIf(process.getuid?.() === 0)(
    "when run as root and the data directory is under a 0700 directory, then it fails at once naming the directory and what to do",
    async () => {
      const closed = path.join(root, "closed");
      await mkdir(closed, { mode: 0o700 });
      await chmod(closed, 0o700);
      const inCheckout = path.join(closed, "checkout", ".data", "postgres");
      const attempt = startEmbeddedPostgres({
        dataDir: inCheckout,
        port: await freePort(),
        database: "never",
      });

      await expect(attempt).rejects.toThrow(
        `that user cannot reach the data directory (${closed}/checkout/.data): ${closed} is mode 0700`,
      );
      await expect(attempt).rejects.toThrow(`chmod o+x ${closed}`);
      await expect(attempt).rejects.toThrow("set DATABASE_URL");
      expect(existsSync(path.join(closed, "checkout"))).toBe(false);

      // The way out the message gives: search (not listing) for others.
      await chmod(closed, 0o711);
      const opened = await startEmbeddedPostgres({
        dataDir: inCheckout,
        port: await freePort(),
        database: "opened_db",
      });
      started.push(opened);
      expect(await databaseName(opened.connectionString)).toBe("opened_db");
      await opened.stop();
    },
  );

  it("when a server already serves the data directory, then it is reused and left running by stop()", async () => {
    const owner = await start("shared_db");

    const reuser = await start("other_db");

    expect(reuser.port).toBe(owner.port);
    expect(await databaseName(reuser.connectionString)).toBe("other_db");
    await reuser.stop();
    expect(await databaseName(owner.connectionString)).toBe("shared_db");
    await owner.stop();
  });
});

describe("resolveDatabase", () => {
  it("when a DATABASE_URL is given, then it migrates that database and stop() leaves the server alone", async () => {
    const db = await createTestDatabase({ migrated: false });
    try {
      const first = await resolveDatabase({ databaseUrl: db.connectionString, dataDir, port: 1 });
      const second = await resolveDatabase({ databaseUrl: db.connectionString, dataDir, port: 1 });
      await second.stop();

      expect(first.connectionString).toBe(db.connectionString);
      expect(first.applied.length).toBeGreaterThan(0);
      expect(second.applied).toEqual([]);
      expect(await databaseName(db.connectionString)).toBe(db.name);
    } finally {
      await db.drop();
    }
  });

  it("when no DATABASE_URL is given, then it starts the embedded server and migrates its database", async () => {
    const resolved = await resolveDatabase({ dataDir, port: await freePort(), database: "resolved_db" });
    try {
      expect(resolved.applied.length).toBeGreaterThan(0);
      const client = new pg.Client({ connectionString: resolved.connectionString });
      await client.connect();
      const { rows } = await client.query<{ count: string }>(
        "SELECT count(*) AS count FROM _prisma_migrations",
      );
      await client.end();
      expect(Number(rows[0]?.count)).toBe(resolved.applied.length);
    } finally {
      await resolved.stop();
    }
  });
});
