/**
 * The fault run's own PostgreSQL: an embedded server in the run's directory that the run can
 * stop and start again (same data directory, same port), the migrated application database,
 * an empty database for the Dapr state stores, and a ledger of every outbox event ever
 * written (the relay deletes outbox rows once published, so the outbox cannot say afterwards
 * what was produced).
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { applyMigrations, startEmbeddedPostgres, type RunningPostgres } from "@taskmesh/db";
import pg from "pg";

const APP_DATABASE = "taskmesh";
const STATE_DATABASE = "taskmesh_state";

/**
 * The ledger: an AFTER INSERT trigger on outbox_events copies each event's id and identity
 * in the inserting transaction, so a rolled-back change leaves no ledger row and a committed
 * one always does. It belongs to the harness, not to the schema: only this run's database has it.
 */
const LEDGER_SQL = `
CREATE TABLE IF NOT EXISTS fault_outbox_ledger (
  event_id   uuid PRIMARY KEY,
  type       text NOT NULL,
  task_id    uuid,
  user_id    text,
  sequence   integer,
  actor_kind text,
  actor_id   text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- SECURITY DEFINER: it runs as the owner, since task-api's own role may not write this table.
CREATE OR REPLACE FUNCTION fault_outbox_ledger_record() RETURNS trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO fault_outbox_ledger (event_id, type, task_id, user_id, sequence, actor_kind, actor_id)
  VALUES (
    NEW.id,
    NEW.type,
    CASE WHEN NEW.data->>'taskId' ~* '^[0-9a-f-]{36}$' THEN (NEW.data->>'taskId')::uuid END,
    NEW.data->>'userId',
    CASE WHEN NEW.data->>'sequence' ~ '^[0-9]{1,9}$' THEN (NEW.data->>'sequence')::integer END,
    NEW.data->'actor'->>'kind',
    NEW.data->'actor'->>'id'
  );
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS fault_outbox_ledger ON outbox_events;
CREATE TRIGGER fault_outbox_ledger AFTER INSERT ON outbox_events
  FOR EACH ROW EXECUTE FUNCTION fault_outbox_ledger_record();
`;

export interface FaultDatabase {
  /** The migrated application database (DATABASE_URL of every app). */
  url: string;
  /** The Dapr state stores' database. */
  stateUrl: string;
  port: number;
  /** The harness's own connections (verification, probes); they reconnect after a restart. */
  pool: pg.Pool;
  /** Runs a query, retrying while the server is down (up to `timeoutMs`). */
  query<R extends pg.QueryResultRow>(sql: string, values?: unknown[], timeoutMs?: number): Promise<R[]>;
  /** Fast shutdown (SIGINT), `downMs` of outage, then the same server again. Returns when it serves. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the server in `<workDir>/postgres`, migrates, creates the state database and the ledger. */
export async function startFaultDatabase(options: {
  workDir: string;
  port: number;
  log: (message: string) => void;
}): Promise<FaultDatabase> {
  const dataDir = path.join(options.workDir, "postgres");
  await mkdir(options.workDir, { recursive: true });
  const start = (): Promise<RunningPostgres> =>
    startEmbeddedPostgres({
      dataDir,
      port: options.port,
      database: APP_DATABASE,
      // Five apps with their pools, five sidecars with state stores, and the harness.
      postgresFlags: ["-c", "max_connections=300"],
    });
  let server = await start();
  const stateUrl = server.connectionString.replace(/\/[^/]+$/, `/${STATE_DATABASE}`);
  const admin = new pg.Client({ connectionString: server.adminConnectionString });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [STATE_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${STATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  await applyMigrations({ connectionString: server.connectionString });
  const setup = new pg.Client({ connectionString: server.connectionString });
  await setup.connect();
  try {
    await setup.query(LEDGER_SQL);
  } finally {
    await setup.end();
  }

  const pool = new pg.Pool({ connectionString: server.connectionString, max: 4 });
  // Idle connections die with every restart; the next query opens new ones.
  pool.on("error", () => undefined);

  const query = async <R extends pg.QueryResultRow>(
    sql: string,
    values: unknown[] = [],
    timeoutMs = 60_000,
  ): Promise<R[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return (await pool.query<R>(sql, values)).rows;
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        // Connection refused/reset or the server shutting down (57P01-57P03): wait for it.
        const transient =
          /ECONNREFUSED|ECONNRESET|EPIPE|Connection terminated|terminat/i.test(String(error)) ||
          code.startsWith("57P") ||
          code === "08006" ||
          code === "08001";
        if (!transient || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };

  return {
    url: server.connectionString,
    stateUrl,
    port: options.port,
    pool,
    query,
    async restart(downMs) {
      options.log(`postgres: fast shutdown (port ${options.port})`);
      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await start();
      options.log("postgres: serving again");
    },
    async stop() {
      await pool.end().catch(() => undefined);
      await server.stop();
    },
  };
}
