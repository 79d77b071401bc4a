// npm run db:migrate                 apply pending migrations
// npm run db:migrate -- --down N     revert the N newest migrations (their down.sql)
// npm run db:migrate -- --to NAME    revert every migration applied after NAME
// npm run db:migrate -- --status     list migrations and their state
//
// Target: DATABASE_URL, or without it the embedded PostgreSQL kept in .data/postgres
// (port PGPORT or 54329, database "taskmesh"), started for the run and stopped after.
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  applyMigrations,
  listMigrations,
  revertMigrations,
  startEmbeddedPostgres,
  type RunningPostgres,
} from "@taskmesh/db";

const DEFAULT_PORT = 54329;
const dataDir = fileURLToPath(new URL("../.data/postgres", import.meta.url));

const { values } = parseArgs({
  options: {
    down: { type: "string" },
    to: { type: "string" },
    status: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) {
  console.log("usage: npm run db:migrate [-- --down N | --to MIGRATION_NAME | --status]");
  process.exit(0);
}

const log = (message: string): void => {
  console.log(message);
};

async function main(): Promise<void> {
  let server: RunningPostgres | undefined;
  let connectionString = process.env.DATABASE_URL;
  if (!connectionString) {
    const port = Number.parseInt(process.env.PGPORT ?? String(DEFAULT_PORT), 10);
    server = await startEmbeddedPostgres({ dataDir, port, database: "taskmesh", log });
    connectionString = server.connectionString;
  }

  try {
    if (values.status) {
      for (const status of await listMigrations({ connectionString })) {
        const when = status.record?.finishedAt ? ` (${status.record.finishedAt.toISOString()})` : "";
        console.log(`${status.state.padEnd(8)} ${status.name}${when}`);
      }
    } else if (values.down !== undefined || values.to !== undefined) {
      const steps = values.down === undefined ? undefined : Number(values.down);
      if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) {
        throw new Error(`--down expects a positive whole number, got "${values.down}"`);
      }
      await revertMigrations({
        connectionString,
        log,
        ...(steps === undefined ? {} : { steps }),
        ...(values.to === undefined ? {} : { to: values.to }),
      });
    } else {
      await applyMigrations({ connectionString, log });
    }
  } finally {
    await server?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
