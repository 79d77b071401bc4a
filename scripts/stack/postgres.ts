/**
 * The database side of a local stack: the application database (migrated) and the separate
 * database the Dapr state stores use. Run as a script, it keeps an embedded PostgreSQL in a
 * process of its own (so a terminal's Ctrl-C does not shut the server down under services
 * that are still draining): it prints one JSON line when ready and stops the server on SIGTERM.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { resolveDatabase } from "@taskmesh/db";
import pg from "pg";
import { provisionServiceLogins, provisionStateLogins, SERVICE_GROUPS } from "../migrate/provision-roles.mjs";
import { REPO_ROOT } from "./paths.ts";
import { startProcess, type LogLine, type ManagedProcess } from "./process.ts";

/** Creates `name` on the server of `url` unless it exists; returns that database's URL. */
export async function ensureDatabase(url: string, name: string): Promise<string> {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${encodeURIComponent(name)}`;
  return target.toString();
}

/** The state component each app's sidecar loads (dapr-components/statestore.yaml), by app. */
export const STATE_COMPONENTS: Readonly<Record<string, "recurring-tasks-state" | "notifications-state">> = {
  "recurring-tasks": "recurring-tasks-state",
  notifications: "notifications-state",
};

/** The secret of the local secret store that holds a state component's connection string. */
export function stateSecretName(component: string): string {
  return `${component
    .replace(/-state$/, "")
    .replaceAll("-", "_")
    .toUpperCase()}_STATE_DB_URL`;
}

export interface StackLogins {
  /** DATABASE_URL per app that uses the application database (task-api, audit-log, notifications). */
  databaseUrls: Record<string, string>;
  /** The state store's connection string per app that has one (recurring-tasks, notifications). */
  stateDatabaseUrls: Record<string, string>;
}

function withCredentials(url: string, user: string, password: string): string {
  const out = new URL(url);
  out.username = encodeURIComponent(user);
  out.password = encodeURIComponent(password);
  return out.toString();
}

/**
 * A LOGIN role for each app (and each Dapr state store) of a stack, with a password made for
 * this run, so no app connects with the migration role's credential (scripts/migrate/provision-roles.mjs).
 * The role names end in the application database's name: stacks on one server (parallel test
 * files) each have their own, and `npm start` reuses its roles with fresh passwords. Two stacks
 * on the same application database would change each other's passwords.
 */
export async function provisionStackLogins(options: {
  databaseUrl: string;
  stateDatabaseUrl: string;
  apps: readonly string[];
  log?: (message: string) => void;
}): Promise<StackLogins> {
  const log = (_level: string, msg: string, fields: Record<string, unknown> = {}): void => {
    options.log?.(`${msg} ${JSON.stringify(fields)}`);
  };
  for (const [name, url] of [
    ["the application database", options.databaseUrl],
    ["the state database (TASKMESH_SECRET_STATE_DB_URL)", options.stateDatabaseUrl],
  ] as const)
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new Error(
        `${name} must be a postgres:// URL here (the stack puts each login's name and password in it)`,
      );
  const database = decodeURIComponent(new URL(options.databaseUrl).pathname.slice(1));
  const suffix = database
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 24);
  const password = (): string => randomBytes(18).toString("base64url");
  const databaseUrls: Record<string, string> = {};
  for (const app of options.apps) {
    const group = SERVICE_GROUPS[app as keyof typeof SERVICE_GROUPS];
    if (group) databaseUrls[app] = withCredentials(options.databaseUrl, `${group}_${suffix}`, password());
  }
  const stateDatabaseUrls: Record<string, string> = {};
  const stateLogins: Partial<Record<"recurring-tasks-state" | "notifications-state", string>> = {};
  for (const app of options.apps) {
    const component = STATE_COMPONENTS[app];
    if (!component) continue;
    const url = withCredentials(
      options.stateDatabaseUrl,
      `taskmesh_${component.replaceAll("-", "_")}_${suffix}`,
      password(),
    );
    stateDatabaseUrls[app] = url;
    stateLogins[component] = url;
  }
  await provisionServiceLogins({ ownerUrl: options.databaseUrl, logins: databaseUrls, log });
  if (Object.keys(stateLogins).length > 0)
    await provisionStateLogins({ ownerUrl: options.stateDatabaseUrl, logins: stateLogins, log });
  return { databaseUrls, stateDatabaseUrls };
}

export interface LocalDatabases {
  databaseUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Starts the embedded PostgreSQL of `npm start` (data in `dataDir`, migrated) in a child
 * process of its own; resolves with its URL once it is ready.
 */
export async function startLocalPostgres(options: {
  dataDir: string;
  port: number;
  onLine?: (line: LogLine) => void;
  timeoutMs?: number;
}): Promise<LocalDatabases> {
  const proc = startProcess({
    source: "postgres",
    command: process.execPath,
    args: ["--import", "tsx", path.join(REPO_ROOT, "scripts/stack/postgres.ts")],
    cwd: REPO_ROOT,
    // SIGTERM, not SIGKILL, if the launcher dies: this process then stops PostgreSQL.
    parentDeathSignal: "SIGTERM",
    env: {
      ...process.env,
      TASKMESH_PG_DATA_DIR: options.dataDir,
      TASKMESH_PG_PORT: String(options.port),
    },
    ...(options.onLine
      ? {
          onLine: (line: LogLine) => {
            if (!line.text.startsWith('{"ready"')) options.onLine?.(line);
          },
        }
      : {}),
  });
  const ready = await new Promise<{ connectionString: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(`PostgreSQL not ready within ${(options.timeoutMs ?? 120_000) / 1000} s\n${proc.tail(20)}`),
      );
    }, options.timeoutMs ?? 120_000);
    proc.child.stdout?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.startsWith('{"ready"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as { connectionString: string });
      }
    });
    void proc.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL helper exited during start-up\n${proc.tail(20)}`));
    });
  }).catch(async (error: unknown) => {
    await proc.stop(5000);
    throw error;
  });
  return { databaseUrl: ready.connectionString, process: proc, stop: () => proc.stop(30_000) };
}

async function main(): Promise<void> {
  const dataDir = process.env.TASKMESH_PG_DATA_DIR ?? path.join(REPO_ROOT, ".data/postgres");
  const port = Number(process.env.TASKMESH_PG_PORT ?? 54329);
  const log = (message: string): void => {
    process.stderr.write(`${message}\n`);
  };
  const database = await resolveDatabase({ dataDir, port, log });
  const stop = (): void => {
    database.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`stopping PostgreSQL failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  // Ctrl-C belongs to the launcher, which stops this process last.
  process.on("SIGINT", () => undefined);
  process.stdout.write(`${JSON.stringify({ ready: true, connectionString: database.connectionString })}\n`);
}

if (import.meta.filename === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `PostgreSQL failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
