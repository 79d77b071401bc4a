import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyMigrations,
  defaultMigrationsDir,
  listMigrations,
  PRISMA_MIGRATE_LOCK_ID,
  readMigrationsDirectory,
  revertMigrations,
  type MigrationFile,
} from "@taskmesh/db";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog } from "./catalog.ts";
import { openPrismaSchemaEngine } from "./prisma-schema-engine.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

let migrations: MigrationFile[];
let schema: string;
let scratch: string;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  migrations = (await readMigrationsDirectory(defaultMigrationsDir)).migrations;
  schema = await readFile(new URL("../../prisma/schema.prisma", import.meta.url), "utf8");
  scratch = await mkdtemp(path.join(tmpdir(), "taskmesh-migrations-test-"));
});

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrated: false });
  databases.push(db);
  return db;
}

/** A copy of the repository's migrations directory (the first `count` migrations) to modify freely. */
async function copyOfMigrations(count = migrations.length): Promise<string> {
  const dir = await mkdtemp(path.join(scratch, "migrations-"));
  await cp(path.join(defaultMigrationsDir, "migration_lock.toml"), path.join(dir, "migration_lock.toml"));
  for (const migration of migrations.slice(0, count)) {
    await cp(migration.dir, path.join(dir, migration.name), { recursive: true });
  }
  return dir;
}

async function query<T extends pg.QueryResultRow>(
  connectionString: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (connectionString: string): Promise<MigrationRow[]> =>
  query<MigrationRow>(
    connectionString,
    "SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name",
  );

function nth<T>(items: T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

async function sha256OfFile(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

describe("applyMigrations", () => {
  it("when the database is empty, then it applies every migration in order and records each as Prisma does", async () => {
    const db = await emptyDatabase();

    const result = await applyMigrations({ connectionString: db.connectionString });

    expect(result.applied).toEqual(migrations.map((migration) => migration.name));
    const rows = await migrationRows(db.connectionString);
    expect(rows.map((row) => row.migration_name)).toEqual(result.applied);
    for (const [index, row] of rows.entries()) {
      const migration = nth(migrations, index);
      expect(row.id).toMatch(UUID_V4);
      expect(row.checksum).toBe(await sha256OfFile(path.join(migration.dir, "migration.sql")));
      expect(row.applied_steps_count).toBe(1);
      expect(row.logs).toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
    const statuses = await listMigrations({ connectionString: db.connectionString });
    expect(statuses.map((status) => status.state)).toEqual(migrations.map(() => "applied"));
  });

  it("when nothing is pending, then it applies nothing and leaves the records untouched", async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.connectionString });
    const before = await migrationRows(db.connectionString);

    const result = await applyMigrations({ connectionString: db.connectionString });

    expect(result.applied).toEqual([]);
    expect(await migrationRows(db.connectionString)).toEqual(before);
  });

  it("when each migration goes up, down and up again, then down restores the catalog and the second up reproduces the first", async () => {
    const db = await emptyDatabase();
    const catalogs = [await readCatalog(db.connectionString)];

    for (let count = 1; count <= migrations.length; count++) {
      const name = nth(migrations, count - 1).name;
      const migrationsDir = await copyOfMigrations(count);

      expect(
        (await applyMigrations({ connectionString: db.connectionString, migrationsDir })).applied,
      ).toEqual([name]);
      const afterUp = await readCatalog(db.connectionString);
      catalogs.push(afterUp);

      expect(
        (await revertMigrations({ connectionString: db.connectionString, migrationsDir, steps: 1 })).reverted,
      ).toEqual([name]);
      expect(await readCatalog(db.connectionString)).toEqual(catalogs[count - 1]);
      expect((await migrationRows(db.connectionString)).map((row) => row.migration_name)).not.toContain(name);

      expect(
        (await applyMigrations({ connectionString: db.connectionString, migrationsDir })).applied,
      ).toEqual([name]);
      expect(await readCatalog(db.connectionString)).toEqual(afterUp);
    }

    const reverted = await revertMigrations({
      connectionString: db.connectionString,
      steps: migrations.length,
    });
    expect(reverted.reverted).toEqual(migrations.map((migration) => migration.name).reverse());
    expect(await readCatalog(db.connectionString)).toEqual(catalogs[0]);
    expect(await migrationRows(db.connectionString)).toEqual([]);
  });

  it("when reverting down to a named migration, then only the ones applied after it are reverted", async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.connectionString });
    const first = nth(migrations, 0).name;

    const result = await revertMigrations({ connectionString: db.connectionString, to: first });

    expect(result.reverted).toEqual(
      migrations
        .slice(1)
        .map((migration) => migration.name)
        .reverse(),
    );
    expect((await migrationRows(db.connectionString)).map((row) => row.migration_name)).toEqual([first]);
  });

  it("when an applied migration.sql was edited afterwards, then applying is refused", async () => {
    const db = await emptyDatabase();
    const migrationsDir = await copyOfMigrations();
    await applyMigrations({ connectionString: db.connectionString, migrationsDir });
    const edited = path.join(migrationsDir, nth(migrations, migrations.length - 1).name, "migration.sql");
    await writeFile(edited, `${await readFile(edited, "utf8")}\n-- an afterthought\n`);

    await expect(
      applyMigrations({ connectionString: db.connectionString, migrationsDir }),
    ).rejects.toMatchObject({
      code: "CHECKSUM_MISMATCH",
    });
    expect(
      (await listMigrations({ connectionString: db.connectionString, migrationsDir })).at(-1)?.state,
    ).toBe("modified");
  });

  it("when the recorded checksum was tampered with, then applying is refused", async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.connectionString });
    await query(
      db.connectionString,
      "UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2",
      ["0".repeat(64), nth(migrations, 0).name],
    );

    await expect(applyMigrations({ connectionString: db.connectionString })).rejects.toThrow(
      /modified after being applied/,
    );
  });

  it("when git only changed the line endings of an applied migration, then its checksum still matches", async () => {
    const db = await emptyDatabase();
    const migrationsDir = await copyOfMigrations();
    await applyMigrations({ connectionString: db.connectionString, migrationsDir });
    const file = path.join(migrationsDir, nth(migrations, 0).name, "migration.sql");
    await writeFile(file, (await readFile(file, "utf8")).replaceAll("\n", "\r\n"));

    expect((await applyMigrations({ connectionString: db.connectionString, migrationsDir })).applied).toEqual(
      [],
    );
  });

  it("when a migration fails, then its changes are rolled back, the failure is recorded and later runs are refused", async () => {
    const db = await emptyDatabase();
    const migrationsDir = await copyOfMigrations();
    const broken = "99990101000000_broken";
    await mkdir(path.join(migrationsDir, broken));
    await writeFile(
      path.join(migrationsDir, broken, "migration.sql"),
      "CREATE TABLE broken_probe (id INTEGER);\nSELECT 1 / 0;\n",
    );

    await expect(
      applyMigrations({ connectionString: db.connectionString, migrationsDir }),
    ).rejects.toMatchObject({ code: "P3018" });

    const row = (await migrationRows(db.connectionString)).find(
      (candidate) => candidate.migration_name === broken,
    );
    expect(row).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(row?.logs).toContain("division by zero");
    expect(await query(db.connectionString, "SELECT to_regclass('broken_probe') AS probe")).toEqual([
      { probe: null },
    ]);
    await expect(
      applyMigrations({ connectionString: db.connectionString, migrationsDir }),
    ).rejects.toMatchObject({ code: "P3009" });

    const engine = await openPrismaSchemaEngine({ connectionString: db.connectionString, schema });
    try {
      expect((await engine.diagnoseMigrationHistory(migrationsDir)).failedMigrationNames).toEqual([broken]);
    } finally {
      await engine.close();
    }
  });

  it("when the database already has tables but no migration history, then it refuses to apply", async () => {
    const db = await emptyDatabase();
    await query(db.connectionString, "CREATE TABLE legacy (id INTEGER)");

    await expect(applyMigrations({ connectionString: db.connectionString })).rejects.toMatchObject({
      code: "P3005",
    });
  });

  it("when another run holds Prisma Migrate's advisory lock, then applying waits for it", async () => {
    const db = await emptyDatabase();
    const holder = new pg.Client({ connectionString: db.connectionString });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK_ID]);

    let settled = false;
    const run = applyMigrations({ connectionString: db.connectionString }).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(settled).toBe(false);

    await holder.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK_ID]);
    await holder.end();
    expect((await run).applied).toEqual(migrations.map((migration) => migration.name));
  });
});

describe("compatibility with prisma migrate deploy", () => {
  it("when Prisma's engine and applyMigrations each migrate an empty database, then schema and bookkeeping match", async () => {
    const byPrisma = await emptyDatabase();
    const byUs = await emptyDatabase();

    const engine = await openPrismaSchemaEngine({ connectionString: byPrisma.connectionString, schema });
    try {
      expect(await engine.applyMigrations(defaultMigrationsDir)).toEqual(
        migrations.map((migration) => migration.name),
      );
    } finally {
      await engine.close();
    }
    await applyMigrations({ connectionString: byUs.connectionString });

    expect(await readCatalog(byUs.connectionString, { includeMigrationsTable: true })).toEqual(
      await readCatalog(byPrisma.connectionString, { includeMigrationsTable: true }),
    );
    const comparable = (rows: MigrationRow[]): unknown[] =>
      rows.map((row) => ({
        ...row,
        id: UUID_V4.test(row.id),
        started_at: row.started_at instanceof Date,
        finished_at: row.finished_at instanceof Date,
      }));
    expect(comparable(await migrationRows(byUs.connectionString))).toEqual(
      comparable(await migrationRows(byPrisma.connectionString)),
    );

    // Each tool accepts the other's history.
    expect((await applyMigrations({ connectionString: byPrisma.connectionString })).applied).toEqual([]);
  });

  it("when applyMigrations migrated a database, then Prisma's engine applies nothing and sees no edited or failed migration", async () => {
    const db = await emptyDatabase();
    await applyMigrations({ connectionString: db.connectionString });

    const engine = await openPrismaSchemaEngine({ connectionString: db.connectionString, schema });
    try {
      expect(await engine.applyMigrations(defaultMigrationsDir)).toEqual([]);
      expect(await engine.diagnoseMigrationHistory(defaultMigrationsDir)).toMatchObject({
        editedMigrationNames: [],
        failedMigrationNames: [],
        hasMigrationsTable: true,
        history: null,
      });
    } finally {
      await engine.close();
    }
  });
});
