// Kubernetes initContainer of the services that use Postgres directly (image taskmesh/migrate):
// waits until every migration in this image's prisma/migrations is applied, as recorded in
// Prisma's `_prisma_migrations` table, so a service never starts against an older schema while
// the `taskmesh-migrate` Job is still running (or has not started, or the database is still
// coming up). Exits 0 once they are all applied, 1 on timeout or bad configuration.
//
// Plain Node ESM with `pg` as its only dependency: it ships in the migrate image, which has no
// TypeScript tooling and none of the services' code.
//
// Environment:
//   DATABASE_URL                          the database the Job migrates (required)
//   MIGRATIONS_DIR                        default: prisma/migrations next to this script's ../../
//   WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS   give up after this long (default 300)
//   WAIT_FOR_MIGRATIONS_INTERVAL_MS       pause between checks (default 2000)
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";

const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL("../../prisma/migrations", import.meta.url));

// Query parameters of a Prisma connection string that are Prisma's own, not libpq's: pg would
// send them to the server as run-time parameters, which it refuses.
const PRISMA_ONLY_PARAMS = [
  "schema",
  "connection_limit",
  "pool_timeout",
  "pgbouncer",
  "statement_cache_size",
  "socket_timeout",
];

/** One JSON line per event on stdout, like the services' pino logs. */
function log(level, msg, fields = {}) {
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), name: "wait-for-migrations", msg, ...fields })}\n`,
  );
}

function fail(msg, fields) {
  log("error", msg, fields);
  process.exit(1);
}

function positiveNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) fail(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/**
 * The migrations the image carries: every sub-folder of the migrations directory, as the
 * Prisma CLI counts them (migration_lock.toml is a file, not a migration).
 */
async function expectedMigrations(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    fail(`cannot read the migrations directory ${dir}: ${error.message}`);
  }
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  if (names.length === 0) fail(`the migrations directory ${dir} has no migrations`);
  return names;
}

/** pg connection settings and the table to read, from a Prisma-style DATABASE_URL. */
function connectionFor(databaseUrl) {
  let url;
  try {
    url = new URL(databaseUrl);
  } catch {
    fail("DATABASE_URL is not a valid URL");
  }
  const schema = url.searchParams.get("schema") ?? "public";
  for (const param of PRISMA_ONLY_PARAMS) url.searchParams.delete(param);
  const table = `${pg.escapeIdentifier(schema)}."_prisma_migrations"`;
  return { connectionString: url.toString(), table };
}

/** Why a check failed, in words an operator can act on. */
function describeError(error) {
  const code = error && typeof error === "object" && "code" in error ? error.code : undefined;
  if (code === "42P01") return { state: "no-table", text: "the _prisma_migrations table does not exist yet" };
  if (code === "3D000")
    return { state: "unreachable", text: `the database does not exist yet (${error.message})` };
  return {
    state: "unreachable",
    text: `the database is not reachable yet (${code ? `${code}: ` : ""}${error.message || String(error)})`,
  };
}

async function check(connection, expected, timeoutMs) {
  const client = new pg.Client({
    connectionString: connection.connectionString,
    connectionTimeoutMillis: Math.max(1000, Math.min(5000, timeoutMs)),
    query_timeout: Math.max(1000, Math.min(5000, timeoutMs)),
  });
  // A server that goes away mid-check emits 'error' on the client; the failed query reports it.
  client.on("error", () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query(
      `SELECT migration_name, finished_at, rolled_back_at FROM ${connection.table}`,
    );
    const applied = new Set();
    const failed = new Set();
    for (const row of rows) {
      if (row.finished_at !== null && row.rolled_back_at === null) applied.add(row.migration_name);
      // Started and neither finished nor rolled back: Prisma's "failed migration" (P3009); the
      // Job cannot continue until someone runs `prisma migrate resolve`.
      else if (row.finished_at === null && row.rolled_back_at === null) failed.add(row.migration_name);
    }
    const pending = expected.filter((name) => !applied.has(name));
    return {
      pending,
      failed: pending.filter((name) => failed.has(name)),
      unknown: [...applied].filter((name) => !expected.includes(name)),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) fail("DATABASE_URL is not set");
  const timeoutSeconds = positiveNumber("WAIT_FOR_MIGRATIONS_TIMEOUT_SECONDS", 300);
  const intervalMs = positiveNumber("WAIT_FOR_MIGRATIONS_INTERVAL_MS", 2000);
  const migrationsDir = process.env.MIGRATIONS_DIR || DEFAULT_MIGRATIONS_DIR;
  const expected = await expectedMigrations(migrationsDir);
  const connection = connectionFor(databaseUrl);
  const deadline = Date.now() + timeoutSeconds * 1000;

  log("info", `waiting for ${expected.length} migrations`, {
    migrationsDir,
    timeoutSeconds,
    latest: expected.at(-1),
  });

  // Logged when it changes (and every 30 s), so a long wait stays readable.
  let lastStatus = "";
  let lastLoggedAt = 0;
  const report = (status, fields) => {
    if (status !== lastStatus || Date.now() - lastLoggedAt >= 30_000) {
      log("info", status, fields);
      lastStatus = status;
      lastLoggedAt = Date.now();
    }
  };

  for (;;) {
    let outcome;
    try {
      outcome = await check(connection, expected, deadline - Date.now());
    } catch (error) {
      outcome = { error: describeError(error) };
    }

    if (outcome.pending?.length === 0) {
      log("info", `all ${expected.length} migrations are applied`, {
        latest: expected.at(-1),
        ...(outcome.unknown.length > 0 ? { newerInDatabase: outcome.unknown } : {}),
      });
      return;
    }

    let status;
    let fields;
    if (outcome.error) {
      status = `${outcome.error.text}; waiting`;
      fields = {};
    } else if (outcome.failed.length > 0) {
      status = `migration ${outcome.failed.join(", ")} failed (started, never finished); waiting for it to be resolved (prisma migrate resolve) and applied`;
      fields = { pending: outcome.pending, failed: outcome.failed };
    } else {
      status = `${outcome.pending.length} of ${expected.length} migrations not applied yet; waiting`;
      fields = { pending: outcome.pending };
    }

    if (Date.now() + intervalMs > deadline) {
      fail(
        `timed out after ${timeoutSeconds} s waiting for migrations: ${status.replace(/; waiting.*$/, "")}`,
        {
          ...(outcome.pending ? { pending: outcome.pending } : {}),
        },
      );
    }
    report(status, fields);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

await main();
