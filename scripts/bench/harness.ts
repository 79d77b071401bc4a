/**
 * What the benchmarks (api.ts, events.ts, mcp.ts) share to set up and tear down a run: the
 * clean-up list, a temporary embedded PostgreSQL, throwaway users, the machine's load and
 * priority, and the run wrapper that cleans up after a failure too.
 */
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@taskmesh/core";
import { startEmbeddedPostgres } from "@taskmesh/db";
import pg from "pg";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const CORES = availableParallelism();

/**
 * BENCH_PRIORITY=-10: a shared machine's other sessions get less CPU than the benchmark's
 * processes (autogroup nice of each, see setAutogroupNice). Off by default.
 */
export const PRIORITY =
  process.env.BENCH_PRIORITY === undefined ? undefined : Number(process.env.BENCH_PRIORITY);

/** What to undo at the end of a run, last registered first; failures of one do not stop the rest. */
export interface Cleanups {
  add(fn: () => Promise<unknown>): void;
  run(): Promise<void>;
}

export function createCleanups(): Cleanups {
  const fns: (() => Promise<unknown>)[] = [];
  return {
    add: (fn) => {
      fns.push(fn);
    },
    async run() {
      for (const fn of fns.splice(0).reverse()) await fn().catch(() => undefined);
    },
  };
}

/**
 * Runs a benchmark: exit 0 when it resolves; on a failure (or Ctrl-C) prints it, runs the
 * clean-ups and exits 1 (130).
 */
export function runBenchmark(cleanups: Cleanups, main: () => Promise<void>): void {
  process.once("SIGINT", () => {
    void cleanups.run().finally(() => process.exit(130));
  });
  main()
    .then(() => cleanups.run())
    .then(
      () => process.exit(0),
      async (error: unknown) => {
        console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
        await cleanups.run();
        process.exit(1);
      },
    );
}

/** One line before the run when other work already keeps the CPUs busy; the load average. */
export function warnIfLoaded(consequence = ": figures will be noisy"): number | undefined {
  const [load1] = loadavg();
  if ((load1 ?? 0) > CORES * 0.5)
    console.log(`! load average ${(load1 ?? 0).toFixed(1)} on ${CORES} cores${consequence}`);
  return load1;
}

export interface BenchPostgres {
  /** The connection string of the database `bench` (migrations are the caller's). */
  url: string;
  /** The connection string of another database of the same server. */
  urlOf(database: string): string;
  /** The run's temporary directory (PostgreSQL's data is in <dir>/pg; removed at clean-up). */
  dir: string;
  /** The postmaster's pid (0 when unknown). */
  postmasterPid(): Promise<number>;
}

/**
 * An embedded PostgreSQL in a temporary directory with the database `bench` and the `extra`
 * ones, stopped and removed by the clean-ups.
 */
export async function startBenchPostgres(
  cleanups: Cleanups,
  options: { prefix: string; extraDatabases?: readonly string[]; postgresFlags?: string[] },
): Promise<BenchPostgres> {
  const dir = await mkdtemp(path.join(tmpdir(), options.prefix));
  await chmod(dir, 0o755);
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dir, "pg"),
    port: await freePort(),
    database: "bench",
    ...(options.postgresFlags ? { postgresFlags: options.postgresFlags } : {}),
  });
  cleanups.add(() => server.stop());
  if (options.extraDatabases?.length) {
    const admin = new pg.Client({ connectionString: server.adminConnectionString });
    await admin.connect();
    for (const database of options.extraDatabases) await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
  }
  return {
    url: server.connectionString,
    urlOf: (database) => server.connectionString.replace(/\/bench$/, `/${database}`),
    dir,
    postmasterPid: async () =>
      Number(
        (await readFile(path.join(dir, "pg", "postmaster.pid"), "utf8").catch(() => "0")).split("\n")[0],
      ),
  };
}

export interface BenchUser {
  id: string;
  /** The Better Auth session token (set-auth-token). */
  session: string;
}

/** Signs up a throwaway user through task-api's Better Auth. */
export async function signUpUser(apiUrl: string, emailPrefix: string, name: string): Promise<BenchUser> {
  const res = await fetch(`${apiUrl}/api/auth/sign-up/email`, {
    method: "POST",
    // fetch sends Sec-Fetch-Mode, so Better Auth's CSRF guard wants a trusted Origin.
    headers: { "content-type": "application/json", origin: `http://localhost:${new URL(apiUrl).port}` },
    body: JSON.stringify({
      email: `${emailPrefix}-${Date.now()}@example.com`,
      password: "correct-horse-battery",
      name,
    }),
  });
  const session = res.headers.get("set-auth-token");
  if (!res.ok || !session) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const { user } = (await res.json()) as { user: { id: string } };
  return { id: user.id, session };
}

/** A JWT access token for a session (GET /api/auth/token). */
export async function accessToken(apiUrl: string, session: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/auth/token`, { headers: { authorization: `Bearer ${session}` } });
  return ((await res.json()) as { token: string }).token;
}
