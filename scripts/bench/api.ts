/**
 * npm run bench:api — task-api under load, side by side with a bare node:http + pg
 * baseline on the same database in the same run (ratios, since these machines are noisy).
 *
 *  1. PostgreSQL: embedded in a temp dir (or BENCH_DATABASE_URL), migrated.
 *  2. Seed: 10 users x 10,000 tasks (tags, due dates, priorities, some completed).
 *  3. For each scenario: peak throughput (50 connections), then latency at 80 % of that peak.
 *  4. Print a table and write bench-results/api-<time>.json (or --out <file>).
 *
 * Smoke mode (--smoke or BENCH_SMOKE=1, scripts/bench/options.ts): 2 users x 200 tasks, 4
 * connections, 1 s per run: proves the benchmark runs end to end, the figures mean nothing.
 *
 * For finding where the time goes (`npm run bench:api -- --only post --pg-stats --cpu-prof`):
 *  --only <words>   only the scenarios whose names contain one of these comma-separated words
 *                   (or BENCH_SCENARIOS); the warm-up still runs.
 *  --pg-stats       the embedded PostgreSQL loads pg_stat_statements; after each scenario the
 *                   statements it ran are printed, per request, with their execution time.
 *  --cpu-prof[=dir] task-api runs with --cpu-prof; its profile is written when it stops, to dir
 *                   (default bench-results/cpu-prof). BENCH_SERVICE_NODE_OPTIONS replaces the
 *                   Node options altogether.
 */
import path from "node:path";
import { freePort } from "@taskmesh/core";
import autocannon from "autocannon";
import pg from "pg";
import { applyMigrations } from "@taskmesh/db";
import { buildServices } from "../build.ts";
import { SERVICE_NODE_OPTIONS } from "../service-runtime.ts";
import { startProcess, waitUntil, type ManagedProcess } from "../stack/index.ts";
import {
  accessToken,
  createCleanups,
  REPO_ROOT,
  runBenchmark,
  signUpUser,
  startBenchPostgres,
  type BenchUser,
} from "./harness.ts";
import { announceSmoke, knob, outputFile, SMOKE } from "./options.ts";
import { memoryMiB } from "./process-stats.ts";
import { printChecks, row, step, writeResultFile } from "./report.ts";
import { BENCH_STANDALONE_TASK_API_ENV } from "./task-api-env.ts";

const USERS = knob("BENCH_USERS", 10, 2);
const TASKS_PER_USER = knob("BENCH_TASKS_PER_USER", 10_000, 200);
const DURATION_S = knob("BENCH_DURATION", 10, 1);
const CONNECTIONS = knob("BENCH_CONNECTIONS", 50, 4);
const WARMUP_S = knob("BENCH_WARMUP_SECONDS", 3, 1);
const cleanups = createCleanups();

const args = process.argv.slice(2);
/** `--name value`, `--name=value`, or `fallback` when the flag is given bare; undefined when absent. */
function option(name: string, fallback?: string): string | undefined {
  const index = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index === -1) return undefined;
  const arg = args[index] ?? "";
  if (arg.includes("=")) return arg.slice(arg.indexOf("=") + 1);
  const next = args[index + 1];
  if (fallback !== undefined) return fallback;
  if (next === undefined || next.startsWith("--")) throw new Error(`--${name} needs a value`);
  return next;
}
const ONLY = (option("only") ?? process.env.BENCH_SCENARIOS ?? "")
  .split(",")
  .map((w) => w.trim().toLowerCase())
  .filter((w) => w.length > 0);
const PG_STATS = args.includes("--pg-stats");
const CPU_PROF_DIR = ((dir) => (dir === undefined ? undefined : path.resolve(dir)))(
  option("cpu-prof", path.join(REPO_ROOT, "bench-results", "cpu-prof")),
);

const serviceErrors = new Map<string, number>();

/** Starts a process; its error lines are counted (the first few printed), not streamed. */
function launch(name: string, args: string[], env: Record<string, string>): ManagedProcess {
  const proc = startProcess({
    source: name,
    command: process.execPath,
    args,
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    keepLines: 100,
    onLine: ({ text }) => {
      if (!/"level":"(error|fatal)"|Error/.test(text)) return;
      const seen = (serviceErrors.get(name) ?? 0) + 1;
      serviceErrors.set(name, seen);
      if (seen <= 3) console.log(`  [${name}] ${text.slice(0, 400)}`);
    },
  });
  cleanups.add(() => proc.stop(5000));
  return proc;
}

/** Waits for `url` to answer; fails at once when the process that should serve it exits. */
const waitFor = (url: string, proc: ManagedProcess): Promise<boolean> =>
  waitUntil(url, async () => ((await fetch(url)).status < 500 ? true : undefined), {
    timeoutMs: 60_000,
    abortIf: () => (proc.isRunning() ? undefined : "its process exited before it answered"),
  });

function rssMiB(pid: number): { rss: number; peak: number } {
  const { rss, hwm } = memoryMiB(pid);
  return { rss: Math.round(rss), peak: Math.round(hwm) };
}

interface Result {
  /** Responses received in the run (any status). */
  requests: number;
  reqPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(options: autocannon.Options): Promise<Result> {
  const r = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options });
  const latency = r.latency as unknown as Record<string, number>;
  return {
    requests: r.requests.total,
    reqPerSec: Math.round(r.requests.average),
    p50: latency.p50 ?? 0,
    p95: latency.p97_5 ?? latency.p95 ?? 0,
    p99: latency.p99 ?? 0,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

async function seed(pool: pg.Pool, userIds: string[]): Promise<void> {
  const [{ v7 } = { v7: false }] = (
    await pool.query<{ v7: boolean }>("SELECT current_setting('server_version_num')::int >= 180000 AS v7")
  ).rows;
  const newId = v7 ? "uuidv7()" : "gen_random_uuid()";
  for (const [n, userId] of userIds.entries()) {
    await pool.query(
      `INSERT INTO tags (id, user_id, name, normalized_name) SELECT ${newId}, $1, 'tag-' || i, 'tag-' || i FROM generate_series(0, 19) i`,
      [userId],
    );
    await pool.query(
      `INSERT INTO tasks (id, user_id, title, description, priority, due_at, all_day, completed, completed_at, created_at, updated_at)
       SELECT ${newId}, $1, 'Task ' || i || ' ' || (ARRAY['report','groceries','deploy','review','call','invoice'])[1 + i % 6],
              CASE WHEN i % 3 = 0 THEN 'Notes for task ' || i END,
              (ARRAY['none','low','medium','high','urgent'])[1 + (i * 7) % 5]::priority,
              CASE WHEN i % 10 < 7 THEN now() + ((i % 120) - 60) * interval '1 day' + (i % 24) * interval '1 hour' END,
              i % 10 = 1, i % 10 >= 7, CASE WHEN i % 10 >= 7 THEN now() END, now(), now()
       FROM generate_series(1, $2::int) i`,
      [userId, TASKS_PER_USER],
    );
    await pool.query(
      `INSERT INTO task_tags (user_id, task_id, tag_id)
       SELECT t.user_id, t.id, g.id FROM tasks t JOIN tags g ON g.user_id = t.user_id
       WHERE t.user_id = $1 AND (g.normalized_name = 'tag-' || (abs(hashtext(t.id::text)) % 20)
                                 OR g.normalized_name = 'tag-' || (abs(hashtext(t.title)) % 20))`,
      [userId],
    );
    process.stdout.write(`\r  seeded ${n + 1}/${userIds.length} users`);
  }
  process.stdout.write("\n");
  // VACUUM too: a real table's older rows are all-visible (autovacuum sees to it), so a count
  // or an index-only scan of a user's tasks skips their heap. Without it a run right after the
  // seed (--only) measured the quota's count(*) of 10,000 tasks at 3.1 ms instead of 1.8 ms.
  await pool.query("VACUUM ANALYZE");
}

/** BENCH_DATABASE_URL, else a temporary embedded PostgreSQL (with pg_stat_statements for --pg-stats); migrated. */
async function database(): Promise<string> {
  let url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    step("starting PostgreSQL (embedded, temporary)");
    url = (
      await startBenchPostgres(cleanups, {
        prefix: "taskmesh-bench-",
        ...(PG_STATS ? { postgresFlags: ["-c", "shared_preload_libraries=pg_stat_statements"] } : {}),
      })
    ).url;
  }
  await applyMigrations({ connectionString: url });
  return url;
}

interface StatementStats {
  query: string;
  callsPerRequest: number;
  meanMs: number;
  /** Execution time of this statement per request of the scenario. */
  msPerRequest: number;
}

/** The statements pg_stat_statements counted since the last reset, heaviest per request first. */
async function statementStats(pool: pg.Pool, requests: number): Promise<StatementStats[]> {
  const { rows } = await pool.query<{ query: string; calls: string; mean: number; total: number }>(
    `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls, mean_exec_time AS mean,
            total_exec_time AS total
     FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT ILIKE '%pg_stat_statements%'
     ORDER BY total_exec_time DESC`,
  );
  const per = Math.max(1, requests);
  return rows
    .map((r) => ({
      query: r.query,
      callsPerRequest: Number(r.calls) / per,
      meanMs: r.mean,
      msPerRequest: r.total / per,
    }))
    .filter((s) => s.callsPerRequest >= 0.01);
}

function printStatementStats(name: string, stats: StatementStats[]): void {
  const widths = [9, 9, 9, 1, 100];
  console.log(`\n  statements of "${name}" (pg_stat_statements, peak and 80 % runs together):`);
  console.log(`  ${row(["calls/req", "mean ms", "ms/req", "|", "statement"], widths)}`);
  for (const s of stats.slice(0, 15)) {
    console.log(
      `  ${row([s.callsPerRequest.toFixed(2), s.meanMs.toFixed(3), s.msPerRequest.toFixed(3), "|", s.query.slice(0, 100)], widths)}`,
    );
  }
  const total = stats.reduce((sum, s) => sum + s.msPerRequest, 0);
  const calls = stats.reduce((sum, s) => sum + s.callsPerRequest, 0);
  console.log(`  ${calls.toFixed(1)} statements and ${total.toFixed(2)} ms of execution per request`);
}

async function main(): Promise<void> {
  const file = outputFile("api");
  announceSmoke();
  const databaseUrl = await database();

  step("building task-api");
  await buildServices(["task-api"]);
  const apiPort = await freePort();
  const api = launch("task-api", ["services/task-api/dist/main.js"], {
    ...BENCH_STANDALONE_TASK_API_ENV,
    DATABASE_URL: databaseUrl,
    PORT: String(apiPort),
    // Free ports for the sidecar and operations listeners too: the defaults may be npm start's.
    APP_PORT: String(await freePort()),
    OPS_PORT: String(await freePort()),
    HOST: "127.0.0.1",
    PUBLIC_URL: `http://localhost:${apiPort}`,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
    NODE_OPTIONS:
      process.env.BENCH_SERVICE_NODE_OPTIONS ??
      (CPU_PROF_DIR
        ? `${SERVICE_NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}`
        : SERVICE_NODE_OPTIONS),
  });
  const basePort = await freePort();
  const baseline = launch("baseline", ["--import", "tsx", "scripts/bench/baseline-server.ts"], {
    DATABASE_URL: databaseUrl,
    PORT: String(basePort),
  });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const baseUrl = `http://127.0.0.1:${basePort}`;
  await Promise.all([waitFor(`${apiUrl}/readyz`, api), waitFor(`${baseUrl}/healthz`, baseline)]);

  step(`signing up ${USERS} users and seeding ${USERS} x ${TASKS_PER_USER} tasks`);
  const users: (BenchUser & { token: string })[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = await signUpUser(apiUrl, `bench-${i}`, `Bench ${i}`);
    users.push({ ...user, token: await accessToken(apiUrl, user.session) });
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  await seed(
    pool,
    users.map((u) => u.id),
  );
  const user = users[0];
  if (!user) throw new Error("no users");
  const ids = (
    await pool.query<{ id: string }>("SELECT id FROM tasks WHERE user_id = $1", [user.id])
  ).rows.map((r) => r.id);
  if (PG_STATS) await pool.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  cleanups.add(() => pool.end());
  const randomId = () => ids[Math.floor(Math.random() * ids.length)] ?? "";
  const auth = { authorization: `Bearer ${user.token}` };

  const baselineById: autocannon.Options = {
    url: baseUrl,
    requests: [
      {
        method: "GET",
        setupRequest: (req) => ({ ...req, path: `/tasks/${randomId()}`, headers: { "x-user": user.id } }),
      },
    ],
  };
  const preparedById: autocannon.Options = {
    url: baseUrl,
    requests: [
      {
        method: "GET",
        setupRequest: (req) => ({
          ...req,
          path: `/prepared/tasks/${randomId()}`,
          headers: { "x-user": user.id },
        }),
      },
    ],
  };
  const apiById: autocannon.Options = {
    url: apiUrl,
    requests: [
      { method: "GET", setupRequest: (req) => ({ ...req, path: `/v1/tasks/${randomId()}`, headers: auth }) },
    ],
  };
  const allScenarios: Record<string, autocannon.Options> = {
    "baseline GET by id (node:http + pg)": baselineById,
    "baseline GET by id, prepared statement": preparedById,
    "task-api GET /v1/tasks/:id": apiById,
    "task-api GET /v1/tasks (filtered, sorted, 50)": {
      url: apiUrl,
      requests: [
        {
          method: "GET",
          path: "/v1/tasks?status=open&priority=high,urgent&tag=tag-3,tag-7&sort=dueAt,-priority&limit=50",
          headers: auth,
        },
      ],
    },
    "task-api POST /v1/tasks": {
      url: apiUrl,
      requests: [
        {
          method: "POST",
          path: "/v1/tasks",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({
            title: "Benchmark task",
            priority: "high",
            dueAt: "2026-12-24T09:00:00Z",
            tags: ["bench", "tag-1"],
          }),
        },
      ],
    },
  };

  const scenarios = Object.fromEntries(
    Object.entries(allScenarios).filter(
      ([name]) => ONLY.length === 0 || ONLY.some((word) => name.toLowerCase().includes(word)),
    ),
  );
  if (Object.keys(scenarios).length === 0) throw new Error(`--only ${ONLY.join(",")} names no scenario`);

  step("warming up");
  await load({ ...apiById, duration: WARMUP_S });
  await load({ ...baselineById, duration: WARMUP_S });

  const results: Record<string, { peak: Result; at80: Result; rate: number }> = {};
  const statements: Record<string, StatementStats[]> = {};
  for (const [name, options] of Object.entries(scenarios)) {
    if (PG_STATS) await pool.query("SELECT pg_stat_statements_reset()");
    step(`${name}: peak`);
    const peak = await load(options);
    const rate = Math.max(1, Math.floor(peak.reqPerSec * 0.8));
    step(`${name}: at 80 % of peak (${rate} req/s)`);
    const at80 = await load({ ...options, overallRate: rate });
    results[name] = { peak, at80, rate };
    if (PG_STATS) {
      statements[name] = await statementStats(pool, peak.requests + at80.requests);
      printStatementStats(name, statements[name]);
    }
  }
  const apiMemory = rssMiB(api.pid);
  const baseMemory = rssMiB(baseline.pid);
  if (CPU_PROF_DIR) {
    // The profile is written when the process exits.
    await api.stop(30_000);
    console.log(`\ntask-api's CPU profile: ${CPU_PROF_DIR}`);
  }

  const base = results["baseline GET by id (node:http + pg)"];
  const byId = results["task-api GET /v1/tasks/:id"];
  const post = results["task-api POST /v1/tasks"];
  const ratio = base && byId ? byId.peak.reqPerSec / base.peak.reqPerSec : 0;
  const prepared = results["baseline GET by id, prepared statement"];
  const preparedRatio = prepared && byId ? byId.peak.reqPerSec / prepared.peak.reqPerSec : 0;

  const widths = [48, 10, 6, 6, 1, 8, 6, 6, 6, 7];
  console.log(
    `\n${row(["scenario", "peak req/s", "p50", "p99", "|", "at 80%", "p50", "p95", "p99", "errors"], widths)}`,
  );
  for (const [name, r] of Object.entries(results)) {
    const errors = r.at80.errors + r.at80.non2xx + r.peak.errors + r.peak.non2xx;
    const ms = (n: number): string => n.toFixed(1);
    console.log(
      row(
        [
          name,
          r.peak.reqPerSec,
          ms(r.peak.p50),
          ms(r.peak.p99),
          "|",
          r.rate,
          ms(r.at80.p50),
          ms(r.at80.p95),
          ms(r.at80.p99),
          errors,
        ],
        widths,
      ),
    );
  }
  const checks = [
    { target: "GET by id >= 0.6x baseline throughput", value: `${ratio.toFixed(2)}x`, ok: ratio >= 0.6 },
    {
      target: "(for reference) GET by id vs the same prepared statement",
      value: `${preparedRatio.toFixed(2)}x`,
      ok: true,
    },
    {
      target: "GET by id p99 < 25 ms at 80 % of peak",
      value: `${byId?.at80.p99 ?? "?"} ms`,
      ok: (byId?.at80.p99 ?? Infinity) < 25,
    },
    {
      target: "POST p99 < 40 ms at 80 % of its peak",
      value: `${post?.at80.p99 ?? "?"} ms`,
      ok: (post?.at80.p99 ?? Infinity) < 40,
    },
    {
      target: "task-api RSS < 150 MiB",
      value: `${apiMemory.rss} MiB (peak ${apiMemory.peak})`,
      ok: apiMemory.peak < 150,
    },
  ];
  for (const [name, count] of serviceErrors) console.log(`  ${name} logged ${count} error lines`);
  console.log(
    `\nlatencies in ms; baseline RSS ${baseMemory.rss} MiB (peak ${baseMemory.peak}); ${CONNECTIONS} connections, ${DURATION_S} s per run, load generator on the same machine`,
  );
  printChecks(checks);

  await writeResultFile(
    file,
    {
      date: new Date().toISOString(),
      node: process.version,
      smoke: SMOKE,
      users: USERS,
      tasksPerUser: TASKS_PER_USER,
      connections: CONNECTIONS,
      durationSeconds: DURATION_S,
      results,
      ratioGetByIdVsBaseline: ratio,
      ratioGetByIdVsPreparedBaseline: preparedRatio,
      memoryMiB: { taskApi: apiMemory, baseline: baseMemory },
      serviceErrorLines: Object.fromEntries(serviceErrors),
      ...(PG_STATS ? { statements } : {}),
      checks,
    },
    { timed: true },
  );
}

runBenchmark(cleanups, main);
