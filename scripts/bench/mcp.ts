/**
 * npm run bench:mcp — what the MCP path costs on top of task-api's REST API, in the same run.
 *
 *  1. PostgreSQL (embedded, temporary), migrated; the stack (launchStack: task-api and
 *     mcp-server, each with its own daprd, mTLS via Sentry, Kafka for the outbox).
 *  2. One user with a personal access token (read-write) and BENCH_TASKS tasks.
 *  3. Four scenarios, open loop at BENCH_RATE calls/s (default 100) for BENCH_SECONDS each,
 *     interleaved over BENCH_ROUNDS rounds so both paths see the same machine noise:
 *       rest get     GET /v1/tasks/:id straight to task-api (Bearer PAT)
 *       mcp get_task tools/call get_task: SDK client -> mcp-server -> daprd -> daprd -> task-api -> Postgres
 *       rest list    GET /v1/tasks?status=open&limit=20
 *       mcp list     tools/call list_tasks {} (compact, 20)
 *  4. p50/p90/p99/max per scenario, achieved calls/s, errors, and the MCP overhead (mcp - rest)
 *     at p50 and p99 against the targets (< 5 ms, < 15 ms); bench-results/mcp-<time>.json.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { freePort } from "@taskmesh/core";
import { applyMigrations, startEmbeddedPostgres } from "@taskmesh/db";
import pg from "pg";
import { buildServices } from "../build.ts";
import { launchStack } from "../stack/index.ts";

const root = path.resolve(import.meta.dirname, "../..");
const num = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const RATE = num("BENCH_RATE", 100);
const SECONDS = num("BENCH_SECONDS", 10);
const ROUNDS = num("BENCH_ROUNDS", 2);
const TASKS = num("BENCH_TASKS", 1000);
const WARMUP_CALLS = num("BENCH_WARMUP", 300);
const MAX_IN_FLIGHT = 200;

function step(message: string): void {
  console.log(`» ${message}`);
}

type Call = () => Promise<void>;

interface Summary {
  calls: number;
  errors: number;
  /** Calls that could not start because MAX_IN_FLIGHT were open (the path fell behind). */
  dropped: number;
  callsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Open loop: one call every 1000/RATE ms for `seconds`, latency from the scheduled start. */
async function openLoop(
  call: Call,
  seconds: number,
): Promise<{ latencies: number[]; errors: number; dropped: number; wallMs: number }> {
  const interval = 1000 / RATE;
  const total = Math.round(seconds * RATE);
  const latencies: number[] = [];
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (inFlight >= MAX_IN_FLIGHT) {
      dropped++;
      continue;
    }
    inFlight++;
    pending.push(
      call().then(
        () => {
          inFlight--;
          // From the scheduled time: a late start (event loop busy) counts against the path.
          latencies.push(performance.now() - due);
        },
        (error: unknown) => {
          inFlight--;
          errors++;
          if (errors <= 3) console.error(`  ! ${error instanceof Error ? error.message : String(error)}`);
        },
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, errors, dropped, wallMs: performance.now() - start };
}

function summarise(
  runs: { latencies: number[]; errors: number; dropped: number; wallMs: number }[],
): Summary {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const wall = runs.reduce((sum, r) => sum + r.wallMs, 0);
  const round = (n: number): number => Math.round(n * 100) / 100;
  return {
    calls: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    dropped: runs.reduce((sum, r) => sum + r.dropped, 0),
    callsPerSecond: round((latencies.length / wall) * 1000),
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? Number.NaN),
  };
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  const [load1] = loadavg();
  if ((load1 ?? 0) > cores * 0.5)
    console.log(`! load average ${(load1 ?? 0).toFixed(1)} on ${cores} cores: figures will be noisy`);

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };
  process.on("SIGINT", () => {
    void cleanup().finally(() => process.exit(130));
  });
  try {
    step("starting PostgreSQL (embedded, temporary) and building the services");
    const dataDir = await mkdtemp(path.join(tmpdir(), "taskmesh-bench-mcp-"));
    await chmod(dataDir, 0o755);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const [server] = await Promise.all([
      startEmbeddedPostgres({ dataDir: path.join(dataDir, "pg"), port: await freePort(), database: "bench" }),
      buildServices(["task-api", "mcp-server"]),
    ]);
    cleanups.push(() => server.stop());
    const admin = new pg.Client({ connectionString: server.adminConnectionString });
    await admin.connect();
    await admin.query("CREATE DATABASE bench_state");
    await admin.end();
    await applyMigrations({ connectionString: server.connectionString });

    step("starting the stack: task-api and mcp-server with their sidecars (mTLS), Kafka");
    const stack = await launchStack({
      apps: ["task-api", "mcp-server"],
      workDir: path.join(dataDir, "stack"),
      databaseUrl: server.connectionString,
      stateDatabaseUrl: server.connectionString.replace(/\/bench$/, "/bench_state"),
      appLogLevel: "warn",
      daprdLogLevel: "warn",
      env: {
        "task-api": {
          NODE_ENV: "production",
          BETTER_AUTH_SECRET: "bench-secret-bench-secret-bench-secret-0123",
          RATE_LIMIT_IP_PER_MINUTE: "0",
          RATE_LIMIT_USER_PER_MINUTE: "0",
          MIGRATE_ON_START: "false",
          PROTECTED_RESOURCES: "http://127.0.0.1:{port:mcp-server}/mcp",
        },
        "mcp-server": {
          NODE_ENV: "production",
          MCP_RESOURCE_URL: "http://127.0.0.1:{port:mcp-server}/mcp",
          TOOL_CALLS_PER_MINUTE: "1000000",
          TOOL_CALL_BURST: "100000",
        },
      },
      log: (line) => {
        console.log(`  ${line}`);
      },
    });
    cleanups.push(() => stack.stop());
    const api = stack.urls["task-api"] ?? "";
    const mcpUrl = `${stack.urls["mcp-server"] ?? ""}/mcp`;

    step(`one user, a personal access token and ${TASKS} tasks`);
    const signUp = await fetch(`${api}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: `http://localhost:${new URL(api).port}` },
      body: JSON.stringify({
        email: `bench-${Date.now()}@example.com`,
        password: "correct-horse-battery",
        name: "Bench",
      }),
    });
    const session = signUp.headers.get("set-auth-token");
    if (!signUp.ok || !session) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
    const created = await fetch(`${api}/v1/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${session}` },
      body: JSON.stringify({ name: "bench", scope: "read-write" }),
    });
    if (created.status !== 201) throw new Error(`token failed: ${created.status} ${await created.text()}`);
    const pat = ((await created.json()) as { token: string }).token;
    const auth = { authorization: `Bearer ${pat}` };
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, TASKS - i) }, async (_, j) => {
          const res = await fetch(`${api}/v1/tasks`, {
            method: "POST",
            headers: { ...auth, "content-type": "application/json" },
            body: JSON.stringify({
              title: `Bench task ${i + j}`,
              priority: ["none", "low", "medium", "high", "urgent"][(i + j) % 5],
              tags: [`tag${(i + j) % 7}`],
              dueAt: `2031-0${((i + j) % 9) + 1}-1${(i + j) % 10}T09:00:00Z`,
            }),
          });
          if (res.status !== 201) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
          return ((await res.json()) as { id: string }).id;
        }),
      );
      ids.push(...batch);
    }
    const pick = (): string => ids[Math.floor(Math.random() * ids.length)] ?? "";

    const client = new Client({ name: "bench-mcp", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: auth } }),
    );
    cleanups.push(() => client.close());

    const expectOk = async (response: Response): Promise<void> => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await response.arrayBuffer();
    };
    const tool = async (name: string, args: Record<string, unknown>): Promise<void> => {
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    };
    const scenarios: Record<string, Call> = {
      "rest get": async () => expectOk(await fetch(`${api}/v1/tasks/${pick()}`, { headers: auth })),
      "mcp get_task": () => tool("get_task", { id: pick() }),
      "rest list": async () =>
        expectOk(await fetch(`${api}/v1/tasks?status=open&limit=20`, { headers: auth })),
      "mcp list_tasks": () => tool("list_tasks", {}),
    };

    step(`warm-up (${WARMUP_CALLS} calls per scenario)`);
    for (const call of Object.values(scenarios)) for (let i = 0; i < WARMUP_CALLS; i++) await call();

    step(`${ROUNDS} round(s) x 4 scenarios x ${SECONDS} s at ${RATE} calls/s`);
    const runs: Record<string, { latencies: number[]; errors: number; dropped: number; wallMs: number }[]> =
      {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, call] of Object.entries(scenarios)) {
        const run = await openLoop(call, SECONDS);
        (runs[name] ??= []).push(run);
        console.log(`  round ${round} ${name.padEnd(15)} ${run.latencies.length} ok, ${run.errors} errors`);
      }
    }

    const results = Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, summarise(r)]));
    const row = (name: string, s: Summary): string =>
      `${name.padEnd(15)} ${String(s.callsPerSecond).padStart(7)} ${String(s.p50).padStart(8)} ${String(s.p90).padStart(8)} ${String(s.p99).padStart(8)} ${String(s.max).padStart(8)} ${String(s.errors + s.dropped).padStart(7)}`;
    console.log(
      `\n${"scenario".padEnd(15)} ${"calls/s".padStart(7)} ${"p50 ms".padStart(8)} ${"p90 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"errors".padStart(7)}`,
    );
    for (const [name, s] of Object.entries(results)) console.log(row(name, s));
    const overhead = (mcp: string, rest: string) => {
      const m = results[mcp];
      const r = results[rest];
      if (!m || !r) return undefined;
      return { p50: Math.round((m.p50 - r.p50) * 100) / 100, p99: Math.round((m.p99 - r.p99) * 100) / 100 };
    };
    const overheads = {
      get_task: overhead("mcp get_task", "rest get"),
      list_tasks: overhead("mcp list_tasks", "rest list"),
    };
    console.log("\nMCP overhead (mcp - rest), target p50 < 5 ms, p99 < 15 ms:");
    for (const [name, o] of Object.entries(overheads)) {
      if (!o) continue;
      const verdict = o.p50 < 5 && o.p99 < 15 ? "meets target" : "MISSES target";
      console.log(`  ${name.padEnd(11)} p50 +${o.p50} ms, p99 +${o.p99} ms  ${verdict}`);
    }

    await mkdir(path.join(root, "bench-results"), { recursive: true });
    const file = path.join(
      root,
      "bench-results",
      `mcp-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    );
    await writeFile(
      file,
      `${JSON.stringify({ rate: RATE, seconds: SECONDS, rounds: ROUNDS, tasks: TASKS, cores, loadBefore: load1, results, overheads }, null, 2)}\n`,
    );
    console.log(`\nwritten ${path.relative(root, file)}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
