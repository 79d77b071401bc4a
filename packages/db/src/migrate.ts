import { randomUUID } from "node:crypto";
import pg from "pg";
import {
  defaultMigrationsDir,
  readMigrationsDirectory,
  scriptMatchesChecksum,
  type MigrationFile,
} from "./migration-files.ts";

// This applier writes Prisma's migration bookkeeping exactly as `prisma migrate deploy` does, so
// either tool accepts the other's work. References (prisma/prisma-engines, schema-engine/):
// - core/src/commands/apply_migrations.rs: lock, initialise, refuse failed migrations, apply the
//   unapplied ones in order, record started -> script -> steps + finished, or logs on failure.
// - connectors/sql-schema-connector/src/flavour/postgres.rs: advisory lock 72707369 with a 10 s
//   timeout, and the CREATE TABLE _prisma_migrations below.
// - connectors/sql-schema-connector/src/sql_migration_persistence.rs: the rows it writes.
// - connectors/sql-schema-connector/src/flavour/postgres/connection.rs: the whole migration.sql is
//   sent as one simple-protocol query, which PostgreSQL runs as one implicit transaction.

/** Prisma Migrate's advisory lock key ("a unique number we chose to identify Migrate"). */
export const PRISMA_MIGRATE_LOCK_ID = 72707369;
const LOCK_TIMEOUT_MS = 10_000;
const PROVIDER = "postgresql";

// Verbatim from prisma-engines (create_migrations_table): the same DDL, so `prisma migrate` finds
// the table it would have created itself.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

export type MigrationLog = (message: string) => void;

export interface MigrateOptions {
  /** postgresql:// URL of the target database. */
  connectionString: string;
  /** Defaults to this repository's prisma/migrations. */
  migrationsDir?: string;
  /** Progress messages (one line each). */
  log?: MigrationLog;
}

export interface RevertOptions extends MigrateOptions {
  /** How many of the newest applied migrations to revert (default 1). Ignored when `to` is set. */
  steps?: number;
  /** Revert every migration applied after this one; it stays applied. */
  to?: string;
}

/** One row of `_prisma_migrations`. */
export interface MigrationRecord {
  id: string;
  checksum: string;
  finishedAt: Date | null;
  migrationName: string;
  logs: string | null;
  rolledBackAt: Date | null;
  startedAt: Date;
  appliedStepsCount: number;
}

export type MigrationState =
  /** In the directory, not applied. */
  | "pending"
  /** Applied and the file still matches the recorded checksum. */
  | "applied"
  /** Applied, but migration.sql was edited afterwards. */
  | "modified"
  /** Started and never finished (and not marked rolled back): blocks further migrations. */
  | "failed"
  /** Applied, but its folder is gone from the migrations directory. */
  | "missing";

export interface MigrationStatus {
  name: string;
  state: MigrationState;
  /** The latest non-rolled-back record, when there is one. */
  record: MigrationRecord | null;
}

/** A refusal or failure, with Prisma's error code where Prisma has one for the same situation. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Applies every pending migration in name order, like `prisma migrate deploy`. Refuses when a
 * migration is recorded as failed, or when an applied migration.sql no longer matches its checksum
 * (deploy only ignores that; `migrate dev` and `migrate status` flag it). Nothing pending: no-op.
 */
export async function applyMigrations(options: MigrateOptions): Promise<{ applied: string[] }> {
  const log = options.log ?? noop;
  const directory = await readMigrationsDirectory(options.migrationsDir ?? defaultMigrationsDir);
  if (directory.lockProvider !== null && directory.lockProvider !== PROVIDER) {
    throw new MigrationError(
      "P3019",
      `The datasource provider \`${PROVIDER}\` does not match the one specified in the migration_lock.toml, \`${directory.lockProvider}\`.`,
    );
  }

  return withLockedConnection(options.connectionString, async (client) => {
    await initializeMigrationsTable(client);
    const records = await loadRecords(client);
    refuseFailedMigrations(records);
    refuseModifiedMigrations(directory.migrations, records);

    const live = records.filter((record) => record.rolledBackAt === null);
    for (const record of live) {
      if (!directory.migrations.some((migration) => migration.name === record.migrationName)) {
        log(
          `Migration \`${record.migrationName}\` is applied to the database but missing from the migrations directory.`,
        );
      }
    }

    const pending = directory.migrations.filter(
      (migration) => !live.some((record) => record.migrationName === migration.name),
    );
    if (pending.length === 0) {
      log("No pending migrations to apply.");
      return { applied: [] };
    }

    const applied: string[] = [];
    for (const migration of pending) {
      log(`Applying migration \`${migration.name}\``);
      await applyOne(client, migration);
      applied.push(migration.name);
    }
    log(`Applied ${applied.length} migration${applied.length === 1 ? "" : "s"}.`);
    return { applied };
  });
}

/**
 * Reverts the newest applied migrations with their down.sql, newest first, each in one transaction
 * together with the removal of its `_prisma_migrations` row (so `applyMigrations` applies it again).
 */
export async function revertMigrations(options: RevertOptions): Promise<{ reverted: string[] }> {
  const log = options.log ?? noop;
  const directory = await readMigrationsDirectory(options.migrationsDir ?? defaultMigrationsDir);

  return withLockedConnection(options.connectionString, async (client) => {
    if (!(await migrationsTableExists(client))) {
      log("No migrations are applied.");
      return { reverted: [] };
    }
    const records = await loadRecords(client);
    refuseFailedMigrations(records);

    // Newest first by the time they were applied: the reverse of the order they changed the schema.
    const applied = records
      .filter((record) => record.rolledBackAt === null)
      .sort(
        (a, b) =>
          b.startedAt.getTime() - a.startedAt.getTime() || b.migrationName.localeCompare(a.migrationName),
      );

    let toRevert: MigrationRecord[];
    if (options.to !== undefined) {
      const index = applied.findIndex((record) => record.migrationName === options.to);
      if (index === -1) {
        throw new MigrationError(
          "P3011",
          `Migration \`${options.to}\` is not applied to the database, so it cannot be the revert target.`,
        );
      }
      toRevert = applied.slice(0, index);
    } else {
      const steps = options.steps ?? 1;
      if (!Number.isInteger(steps) || steps < 0)
        throw new RangeError(`steps must be a non-negative integer, got ${steps}`);
      toRevert = applied.slice(0, steps);
    }

    // Check every down.sql before touching the database, so a missing one does not leave a half-done revert.
    const plan = toRevert.map((record) => {
      const migration = directory.migrations.find((candidate) => candidate.name === record.migrationName);
      if (migration === undefined) {
        throw new MigrationError(
          "P3015",
          `Cannot revert \`${record.migrationName}\`: its folder is missing from the migrations directory.`,
        );
      }
      if (migration.downScript === null) {
        throw new MigrationError(
          "P3015",
          `Cannot revert \`${record.migrationName}\`: ${migration.dir} has no down.sql.`,
        );
      }
      return { record, downScript: migration.downScript };
    });

    const reverted: string[] = [];
    for (const { record, downScript } of plan) {
      log(`Reverting migration \`${record.migrationName}\``);
      await client.query("BEGIN");
      try {
        await client.query(downScript);
        await client.query("DELETE FROM _prisma_migrations WHERE id = $1", [record.id]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new MigrationError(
          "P3018",
          `Reverting \`${record.migrationName}\` failed and was rolled back: ${describeError(error)}`,
          {
            cause: error,
          },
        );
      }
      reverted.push(record.migrationName);
    }
    if (reverted.length === 0) log("Nothing to revert.");
    return { reverted };
  });
}

/** The state of every migration in the directory and every one recorded in the database. */
export async function listMigrations(options: Omit<MigrateOptions, "log">): Promise<MigrationStatus[]> {
  const directory = await readMigrationsDirectory(options.migrationsDir ?? defaultMigrationsDir);
  const client = new pg.Client({ connectionString: options.connectionString });
  await client.connect();
  let records: MigrationRecord[];
  try {
    records = (await migrationsTableExists(client)) ? await loadRecords(client) : [];
  } finally {
    await client.end();
  }

  const live = records.filter((record) => record.rolledBackAt === null);
  const statuses: MigrationStatus[] = directory.migrations.map((migration) => {
    const record = live.findLast((candidate) => candidate.migrationName === migration.name) ?? null;
    return { name: migration.name, state: stateOf(migration, record), record };
  });
  for (const record of live) {
    if (!statuses.some((status) => status.name === record.migrationName)) {
      statuses.push({
        name: record.migrationName,
        state: record.finishedAt === null ? "failed" : "missing",
        record,
      });
    }
  }
  return statuses;
}

function stateOf(migration: MigrationFile, record: MigrationRecord | null): MigrationState {
  if (record === null) return "pending";
  if (record.finishedAt === null) return "failed";
  return scriptMatchesChecksum(migration.script, record.checksum) ? "applied" : "modified";
}

async function applyOne(client: pg.Client, migration: MigrationFile): Promise<void> {
  // Timestamps come from the client clock, as in Prisma (chrono::Utc::now()).
  const id = randomUUID();
  await client.query(
    "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ($1, $2, $3, $4)",
    [id, migration.checksum, new Date(), migration.name],
  );

  try {
    // No parameters, so node-postgres uses the simple query protocol: PostgreSQL runs the
    // multi-statement script as one implicit transaction, all or nothing, exactly as Prisma does.
    await client.query(migration.script);
  } catch (error) {
    const logs = applyErrorMessage(migration, error);
    await client.query("UPDATE _prisma_migrations SET logs = $1 WHERE id = $2", [logs, id]);
    throw new MigrationError("P3018", logs, { cause: error });
  }

  await client.query(
    "UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE id = $1",
    [id],
  );
  await client.query("UPDATE _prisma_migrations SET finished_at = $1 WHERE id = $2", [new Date(), id]);
}

/** Prisma's P3018 message, which it also stores in `logs`. */
function applyErrorMessage(migration: MigrationFile, error: unknown): string {
  const code =
    error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : "none";
  return (
    "A migration failed to apply. New migrations cannot be applied before the error is recovered from. " +
    "Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n" +
    `Migration name: ${migration.name}\n\nDatabase error code: ${code}\n\nDatabase error:\n${describeError(error)}\n`
  );
}

async function withLockedConnection<T>(
  connectionString: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await acquireLock(client);
    return await work(client);
  } finally {
    // A session-level advisory lock ends with the session, as in Prisma.
    await client.end();
  }
}

async function acquireLock(client: pg.Client): Promise<void> {
  // lock_timeout bounds the wait server-side; Prisma bounds it client-side with the same 10 s.
  await client.query(`SET lock_timeout = ${LOCK_TIMEOUT_MS}`);
  try {
    await client.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_ID})`);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "55P03") {
      throw new MigrationError(
        "P1002",
        `Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_ID})). ` +
          `Timeout: ${LOCK_TIMEOUT_MS}ms. Another migration is probably running against this database.`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query("RESET lock_timeout");
  }
}

/** Like Prisma's table_names(): ordinary tables in the connection's current schema. */
async function tableNames(client: pg.Client): Promise<string[]> {
  const result = await client.query<{ table_name: string }>(
    `SELECT tbl.relname AS table_name
       FROM pg_class AS tbl
       JOIN pg_namespace AS namespace ON namespace.oid = tbl.relnamespace
      WHERE tbl.relkind = 'r' AND namespace.nspname = current_schema()`,
  );
  return result.rows.map((row) => row.table_name);
}

async function migrationsTableExists(client: pg.Client): Promise<boolean> {
  return (await tableNames(client)).includes("_prisma_migrations");
}

/** Prisma's initialize(): create the table in an empty schema, refuse a non-empty one without it. */
async function initializeMigrationsTable(client: pg.Client): Promise<void> {
  const tables = await tableNames(client);
  if (tables.includes("_prisma_migrations")) return;
  if (tables.length > 0) {
    throw new MigrationError(
      "P3005",
      "The database schema is not empty. Read more about how to baseline an existing production database: https://pris.ly/d/migrate-baseline",
    );
  }
  await client.query(CREATE_MIGRATIONS_TABLE);
}

async function loadRecords(client: pg.Client): Promise<MigrationRecord[]> {
  const result = await client.query<{
    id: string;
    checksum: string;
    finished_at: Date | null;
    migration_name: string;
    logs: string | null;
    rolled_back_at: Date | null;
    started_at: Date;
    applied_steps_count: number;
  }>(
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM _prisma_migrations ORDER BY started_at ASC`,
  );
  return result.rows.map((row) => ({
    id: row.id,
    checksum: row.checksum,
    finishedAt: row.finished_at,
    migrationName: row.migration_name,
    logs: row.logs,
    rolledBackAt: row.rolled_back_at,
    startedAt: row.started_at,
    appliedStepsCount: row.applied_steps_count,
  }));
}

/** Prisma's detect_failed_migrations (P3009). */
function refuseFailedMigrations(records: MigrationRecord[]): void {
  const failed = records.filter((record) => record.finishedAt === null && record.rolledBackAt === null);
  if (failed.length === 0) return;
  const details = failed
    .map((record) => {
      const logs = record.logs?.trim() ? ` with the following logs:\n${record.logs.trim()}` : "";
      return `The \`${record.migrationName}\` migration started at ${record.startedAt.toISOString()} failed${logs}\n`;
    })
    .join("");
  throw new MigrationError(
    "P3009",
    "migrate found failed migrations in the target database, new migrations will not be applied. " +
      `Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n${details}`,
  );
}

function refuseModifiedMigrations(migrations: MigrationFile[], records: MigrationRecord[]): void {
  const modified = records
    .filter((record) => record.rolledBackAt === null && record.finishedAt !== null)
    .flatMap((record) => {
      const migration = migrations.find((candidate) => candidate.name === record.migrationName);
      return migration !== undefined && !scriptMatchesChecksum(migration.script, record.checksum)
        ? [record.migrationName]
        : [];
    });
  if (modified.length === 0) return;
  throw new MigrationError(
    "CHECKSUM_MISMATCH",
    `${modified.length === 1 ? "The migration" : "The migrations"} ${modified.map((name) => `\`${name}\``).join(", ")} ` +
      `${modified.length === 1 ? "was" : "were"} modified after being applied (migration.sql no longer matches the checksum in _prisma_migrations). ` +
      "Restore the applied file and put the change in a new migration.",
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function noop(): void {
  // Default log: progress messages are optional.
}
