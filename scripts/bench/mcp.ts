/**
 * npm run bench:mcp — what the MCP path costs on top of task-api's REST API, in the same run.
 *
 *  1. PostgreSQL (embedded, temporary), migrated; the stack (launchStack: task-api and
 *     mcp-server, each with its own daprd, mTLS via Sentry, Kafka for the outbox).
 *  2. One user with a personal access token (read-write) and BENCH_TASKS tasks.
 *  3. Six scenarios (BENCH_SCENARIOS: a comma-separated subset), open loop at BENCH_RATE calls/s (default 100) for BENCH_SECONDS each,
 *     interleaved over BENCH_ROUNDS rounds so both paths see the same machine noise:
 *       rest get     GET /v1/tasks/:id straight to task-api (Bearer PAT)
 *       sidecar get  the same GET as mcp-server sends it: through mcp-server's daprd (its
 *                    DAPR_API_TOKEN, x-taskmesh-user-id) -> task-api's daprd -> task-api, no MCP:
 *                    what the two sidecar hops cost on their own
 *       mcp get_task tools/call get_task: SDK client -> mcp-server -> daprd -> daprd -> task-api -> Postgres
 *       rest list    GET /v1/tasks?status=open&limit=20
 *       sidecar list the same list through the two sidecars, as mcp-server sends it
 *       mcp list     tools/call list_tasks {} (compact, 20)
 *  4. p50/p90/p99/max per scenario, achieved calls/s, errors, CPU per call of each process
 *     (from /proc: the apps, their sidecars and this client), and the MCP overhead (mcp - rest)
 *     at p50 and p99 against the targets (< 5 ms, < 15 ms), split into the sidecar hops and
 *     the mcp-server; bench-results/mcp-<time>.json (or --out <file>).
 *
 * On a shared, loaded machine latency follows CPU: a path that needs more CPU per call queues
 * first. The CPU figures say where the time goes even when the latencies are noise.
 * BENCH_PRIORITY (e.g. -10, as bench:events): autogroup nice of every process of the run (the
 * stack, PostgreSQL and this client), so other sessions on the machine disturb both paths less.
 *
 * Smoke mode (--smoke or BENCH_SMOKE=1, scripts/bench/options.ts): 20 tasks, 5 warm-up calls, one
 * round of 1 s per scenario at 20 calls/s: proves the benchmark runs end to end; the figures mean
 * nothing.
 */
import { loadavg } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { applyMigrations } from "@taskmesh/db";
import { buildServices } from "../build.ts";
import { launchStack, type RunningStack } from "../stack/index.ts";
import {
  CORES,
  createCleanups,
  PRIORITY,
  runBenchmark,
  signUpUser,
  startBenchPostgres,
  warnIfLoaded,
} from "./harness.ts";
import { announceSmoke, knob, outputFile, SMOKE } from "./options.ts";
import { BENCH_TASK_API_ENV } from "./task-api-env.ts";
import { cpuSeconds, setAutogroupNice } from "./process-stats.ts";
import { percentile, round2, row, step, writeResultFile } from "./report.ts";
const RATE = knob("BENCH_RATE", 100, 20);
const SECONDS = knob("BENCH_SECONDS", 10, 1);
const ROUNDS = knob("BENCH_ROUNDS", 2, 1);
const TASKS = knob("BENCH_TASKS", 1000, 20);
const WARMUP_CALLS = knob("BENCH_WARMUP", 300, 5);
const MAX_IN_FLIGHT = 200;
const cleanups = createCleanups();

type Call = () => Promise<void>;

/** One run of a scenario: latencies, failures, wall time and CPU seconds per process. */
interface Run {
  latencies: number[];
  errors: number;
  dropped: number;
  wallMs: number;
  cpu: Record<string, number>;
}

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
  /** Milliseconds of CPU per successful call, per process ("client" = this benchmark). */
  cpuMsPerCall: Record<string, number>;
}

/** Open loop: one call every 1000/RATE ms for `seconds`, latency from the scheduled start. */
async function openLoop(call: Call, seconds: number): Promise<Omit<Run, "cpu">> {
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

function summarise(runs: Run[]): Summary {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const wall = runs.reduce((sum, r) => sum + r.wallMs, 0);
  const round = round2;
  const cpuMsPerCall: Record<string, number> = {};
  for (const run of runs)
    for (const [name, seconds] of Object.entries(run.cpu))
      cpuMsPerCall[name] = (cpuMsPerCall[name] ?? 0) + seconds;
  for (const name of Object.keys(cpuMsPerCall))
    cpuMsPerCall[name] = round(((cpuMsPerCall[name] ?? 0) * 1000) / Math.max(1, latencies.length));
  return {
    calls: latencies.length,
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    dropped: runs.reduce((sum, r) => sum + r.dropped, 0),
    callsPerSecond: round((latencies.length / wall) * 1000),
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies.at(-1) ?? Number.NaN),
    cpuMsPerCall,
  };
}

/** PostgreSQL (embedded, temporary) and the stack: task-api and mcp-server with their sidecars. */
async function startServices(): Promise<RunningStack> {
  step("starting PostgreSQL (embedded, temporary) and building the services");
  const [db] = await Promise.all([
    startBenchPostgres(cleanups, { prefix: "taskmesh-bench-mcp-", extraDatabases: ["bench_state"] }),
    buildServices(["task-api", "mcp-server"]),
  ]);
  await applyMigrations({ connectionString: db.url });

  step("starting the stack: task-api and mcp-server with their sidecars (mTLS), Kafka");
  const stack = await launchStack({
    apps: ["task-api", "mcp-server"],
    workDir: path.join(db.dir, "stack"),
    databaseUrl: db.url,
    stateDatabaseUrl: db.urlOf("bench_state"),
    appLogLevel: "warn",
    daprdLogLevel: "warn",
    env: {
      "task-api": {
        ...BENCH_TASK_API_ENV,
        PROTECTED_RESOURCES: "http://127.0.0.1:{port:mcp-server}/mcp",
      },
      "mcp-server": {
        NODE_ENV: "production",
        MCP_RESOURCE_URL: "http://127.0.0.1:{port:mcp-server}/mcp",
        TOOL_CALLS_PER_MINUTE: "1000000",
        TOOL_CALL_BURST: "100000",
        // Every benchmark client comes from 127.0.0.1: the per-IP limit would measure itself.
        RATE_LIMIT_IP_PER_MINUTE: "0",
      },
    },
    log: (line) => {
      console.log(`  ${line}`);
    },
  });
  cleanups.add(() => stack.stop());
  const priority = PRIORITY;
  if (priority !== undefined) {
    const pids = [process.pid, await db.postmasterPid(), ...stack.processes().map((p) => p.pid)].filter(
      (pid) => pid > 0,
    );
    const refused = pids.filter((pid) => !setAutogroupNice(pid, priority));
    step(
      `autogroup nice ${priority} for ${pids.length - refused.length} processes${refused.length > 0 ? ` (refused for ${refused.length})` : ""}`,
    );
  }
  return stack;
}

/** One user with a personal access token (read-write) and TASKS tasks; their ids. */
async function seedUser(api: string): Promise<{ userId: string; pat: string; ids: string[] }> {
  step(`one user, a personal access token and ${TASKS} tasks`);
  const user = await signUpUser(api, "bench", "Bench");
  const created = await fetch(`${api}/v1/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${user.session}` },
    body: JSON.stringify({ name: "bench", scope: "read-write" }),
  });
  if (created.status !== 201) throw new Error(`token failed: ${created.status} ${await created.text()}`);
  const pat = ((await created.json()) as { token: string }).token;
  const ids: string[] = [];
  for (let i = 0; i < TASKS; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, TASKS - i) }, async (_, j) => {
        const res = await fetch(`${api}/v1/tasks`, {
          method: "POST",
          headers: { authorization: `Bearer ${pat}`, "content-type": "application/json" },
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
  return { userId: user.id, pat, ids };
}

/** The six scenarios (or the BENCH_SCENARIOS subset), each one call. */
async function scenarios(stack: RunningStack, seeded: Awaited<ReturnType<typeof seedUser>>) {
  const api = stack.urls["task-api"] ?? "";
  const mcpUrl = `${stack.urls["mcp-server"] ?? ""}/mcp`;
  const { ids, userId } = seeded;
  const auth = { authorization: `Bearer ${seeded.pat}` };
  const pick = (): string => ids[Math.floor(Math.random() * ids.length)] ?? "";

  const client = new Client({ name: "bench-mcp", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: auth } }),
  );
  cleanups.add(() => client.close());

  const expectOk = async (response: Response): Promise<void> => {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await response.arrayBuffer();
  };
  const tool = async (name: string, args: Record<string, unknown>): Promise<void> => {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
  };
  // Exactly what mcp-server's task-api client sends its sidecar (sidecarTransport).
  const mcpSidecar = stack.daprUrls["mcp-server"] ?? "";
  const asMcpServer = {
    "dapr-api-token": stack.daprApiTokens["mcp-server"] ?? "",
    "x-taskmesh-user-id": userId,
  };
  const allScenarios: Record<string, Call> = {
    "rest get": async () => expectOk(await fetch(`${api}/v1/tasks/${pick()}`, { headers: auth })),
    "sidecar get": async () =>
      expectOk(
        await fetch(`${mcpSidecar}/v1.0/invoke/task-api/method/v1/tasks/${pick()}`, {
          headers: asMcpServer,
        }),
      ),
    "mcp get_task": () => tool("get_task", { id: pick() }),
    "rest list": async () => expectOk(await fetch(`${api}/v1/tasks?status=open&limit=20`, { headers: auth })),
    "sidecar list": async () =>
      expectOk(
        await fetch(`${mcpSidecar}/v1.0/invoke/task-api/method/v1/tasks?status=open&limit=20`, {
          headers: asMcpServer,
        }),
      ),
    "mcp list_tasks": () => tool("list_tasks", {}),
  };

  // BENCH_SCENARIOS="rest list,sidecar list,mcp list_tasks" runs only those (names as above).
  const only = process.env.BENCH_SCENARIOS?.split(",").map((name) => name.trim());
  const chosen = Object.fromEntries(
    Object.entries(allScenarios).filter(([name]) => !only || only.includes(name)),
  );
  if (Object.keys(chosen).length === 0)
    throw new Error(`BENCH_SCENARIOS names none of the scenarios (${only?.join(", ") ?? ""})`);
  return chosen;
}

/** Warm-up, then ROUNDS rounds of every scenario, with the CPU each process spent per run. */
async function measure(stack: RunningStack, chosen: Record<string, Call>): Promise<Record<string, Run[]>> {
  step(`warm-up (${WARMUP_CALLS} calls per scenario)`);
  for (const call of Object.values(chosen)) for (let i = 0; i < WARMUP_CALLS; i++) await call();

  const scenarioCount = Object.keys(chosen).length;
  step(`${ROUNDS} round(s) x ${scenarioCount} scenarios x ${SECONDS} s at ${RATE} calls/s`);
  // CPU of the processes on the paths (apps and sidecars), and of this client.
  const tracked = stack.processes().filter((p) => /^(task-api|mcp-server)(:dapr)?$/.test(p.source));
  const cpuNow = (): Record<string, number> => {
    const self = process.cpuUsage();
    return {
      ...Object.fromEntries(tracked.map((p) => [p.source.replace(":dapr", " daprd"), cpuSeconds(p.pid)])),
      client: (self.user + self.system) / 1e6,
    };
  };
  const runs: Record<string, Run[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, call] of Object.entries(chosen)) {
      const before = cpuNow();
      const loop = await openLoop(call, SECONDS);
      const after = cpuNow();
      const run: Run = {
        ...loop,
        cpu: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)])),
      };
      (runs[name] ??= []).push(run);
      console.log(`  round ${round} ${name.padEnd(15)} ${run.latencies.length} ok, ${run.errors} errors`);
    }
  }
  return runs;
}

type Overhead = { p50: number; p99: number } | undefined;

/** The latency and CPU tables and the MCP overhead against its targets; the overheads. */
function report(results: Record<string, Summary>): Record<string, Overhead> {
  const widths = [15, 7, 8, 8, 8, 8, 7];
  console.log(`\n${row(["scenario", "calls/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"], widths)}`);
  for (const [name, s] of Object.entries(results))
    console.log(row([name, s.callsPerSecond, s.p50, s.p90, s.p99, s.max, s.errors + s.dropped], widths));

  const processes = [...new Set(Object.values(results).flatMap((s) => Object.keys(s.cpuMsPerCall)))];
  const cpuWidths = [16, ...processes.map(() => 16), 7];
  console.log(`\n${row(["CPU ms per call", ...processes, "total"], cpuWidths)}`);
  for (const [name, s] of Object.entries(results)) {
    const values = processes.map((p) => s.cpuMsPerCall[p] ?? 0);
    console.log(row([name, ...values, round2(values.reduce((a, b) => a + b, 0))], cpuWidths));
  }

  const overhead = (mcp: string, rest: string): Overhead => {
    const m = results[mcp];
    const r = results[rest];
    return m && r ? { p50: round2(m.p50 - r.p50), p99: round2(m.p99 - r.p99) } : undefined;
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
  const split = {
    sidecarHops: overhead("sidecar get", "rest get"),
    mcpOverSidecar: overhead("mcp get_task", "sidecar get"),
    listSidecarHops: overhead("sidecar list", "rest list"),
    listMcpOverSidecar: overhead("mcp list_tasks", "sidecar list"),
  };
  for (const [name, h, m] of [
    ["get_task", split.sidecarHops, split.mcpOverSidecar],
    ["list_tasks", split.listSidecarHops, split.listMcpOverSidecar],
  ] as const) {
    if (!h || !m) continue;
    console.log(
      `  ${name} split: sidecar hops p50 +${h.p50} ms, p99 +${h.p99} ms; MCP (client, mcp-server) p50 +${m.p50} ms, p99 +${m.p99} ms`,
    );
  }
  return { ...overheads, ...split };
}

async function main(): Promise<void> {
  const file = outputFile("mcp");
  announceSmoke();
  const load1 = warnIfLoaded();
  const stack = await startServices();
  const chosen = await scenarios(stack, await seedUser(stack.urls["task-api"] ?? ""));
  const runs = await measure(stack, chosen);
  const results = Object.fromEntries(Object.entries(runs).map(([name, r]) => [name, summarise(r)]));
  const overheads = report(results);
  await writeResultFile(
    file,
    {
      smoke: SMOKE,
      rate: RATE,
      seconds: SECONDS,
      rounds: ROUNDS,
      tasks: TASKS,
      priority: PRIORITY ?? null,
      cores: CORES,
      loadBefore: load1,
      loadAfter: loadavg()[0],
      results,
      overheads,
    },
    { verb: "written", trailingNewline: true },
  );
}

runBenchmark(cleanups, main);
