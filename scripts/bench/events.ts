/**
 * npm run bench:events — task events through outbox -> task-api's daprd -> Kafka ->
 * audit-log's daprd -> audit-log (a row in audit_entries), side by side with the same pipeline
 * without Dapr (task-api's relay publishing with a kafkajs producer, a kafkajs consumer
 * recording with audit-log's own code: scripts/bench/direct-pipeline.ts) on the same broker,
 * in the same run, so the Dapr overhead shows as a ratio. These machines are noisy: read ratios.
 *
 *  1. PostgreSQL embedded in a temp dir (databases: the stack's, the baseline's, Dapr state),
 *     one Kafka (topics as the stack creates them, plus one baseline topic per mode).
 *  2. For each mode — per event (relay: one publish call per event; audit-log: one delivery
 *     per event) and bulk (bulk publish; bulkSubscribe on audit-log's subscription) — a stack
 *     (launchStack: task-api + audit-log with their sidecars, mTLS), then the baseline:
 *       a. ramp: outbox rows inserted directly at a rising rate (x2, then bisecting) until the
 *          pipeline falls behind (more than half a second of events not yet recorded at the
 *          end of a step); peak = the highest rate it kept up with;
 *       b. latency at half the peak: recorded_at - occurredAt (both the Postgres clock);
 *       c. (Dapr only) the REST-driven run: POST /v1/tasks through task-api, as fast as it goes.
 *  3. Each daprd's RSS (/proc VmRSS: peak over the stack's life, steady = median at half peak)
 *     and CPU per 1,000 events; a table; bench-results/events-<time>.json (or --out <file>).
 *
 * Knobs (env): BENCH_STEP_SECONDS (3), BENCH_HALF_SECONDS (6), BENCH_REST_SECONDS (6),
 * BENCH_START_RATE (1000), BENCH_MAX_STEPS (7), BENCH_PARTITIONS (6), BENCH_TASKS (5000),
 * BENCH_BULK_MAX_MESSAGES (100), BENCH_BULK_AWAIT_MS (20), BENCH_MODES (per-event,bulk),
 * BENCH_TASK_API_ENV / BENCH_AUDIT_LOG_ENV ("K=V,K=V", extra service environment),
 * BENCH_PG_FLAGS (extra postgres arguments, diagnostics only: "-c synchronous_commit=off"),
 * BENCH_DAPRD_ENV ("GOGC=400"), BENCH_DAPR_TRACING (samplingRate), BENCH_DAPR_METRICS ("false"),
 * BENCH_PRIORITY (e.g. -10 on a machine shared with other work: autogroup nice of every process it runs).
 *
 * Smoke mode (--smoke or BENCH_SMOKE=1, scripts/bench/options.ts): one 1 s ramp step at 100
 * events/s, 1 s at half peak, a 1 s REST run, 2 partitions, both modes: proves the benchmark runs
 * end to end (a REST run that fails fails the run); the figures mean nothing.
 */
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { freePort } from "@taskmesh/core";
import { applyMigrations, startEmbeddedPostgres } from "@taskmesh/db";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { parseAllDocuments, stringify } from "yaml";
import { buildServices } from "../build.ts";
import { SERVICE_NODE_OPTIONS } from "../service-runtime.ts";
import {
  COMPONENTS_DIR,
  createTopics,
  declaredTopics,
  launchStack,
  startKafka,
  startProcess,
  type ManagedProcess,
  type RunningStack,
} from "../stack/index.ts";
import {
  createEventSource,
  databaseNow,
  latencySince,
  offerLoad,
  outboxPending,
  recordedCount,
  type LatencySummary,
} from "./event-load.ts";
import { setAutogroupNice, startSampler, type MachineWindow, type WindowStats } from "./process-stats.ts";
import { announceSmoke, knob, outputFile, SMOKE } from "./options.ts";
import { BENCH_TASK_API_ENV } from "./task-api-env.ts";

const root = path.resolve(import.meta.dirname, "../..");
const STEP_S = knob("BENCH_STEP_SECONDS", 3, 1);
const HALF_S = knob("BENCH_HALF_SECONDS", 6, 1);
const REST_S = knob("BENCH_REST_SECONDS", 6, 1);
const START_RATE = knob("BENCH_START_RATE", 1000, 100);
const MAX_STEPS = knob("BENCH_MAX_STEPS", 7, 1);
const PARTITIONS = knob("BENCH_PARTITIONS", 6, 2);
const TASKS = knob("BENCH_TASKS", 5000, 100);
const BULK_MAX_MESSAGES = knob("BENCH_BULK_MAX_MESSAGES", 100);
const BULK_AWAIT_MS = knob("BENCH_BULK_AWAIT_MS", 20);
/** The relay's poll interval: rows inserted by the benchmark do not wake it as task-api's own commits do. */
const POLL_MS = knob("BENCH_OUTBOX_POLL_INTERVAL_MS", 10);
type Mode = "per-event" | "bulk";
const MODES = (process.env.BENCH_MODES ?? "per-event,bulk").split(",").map((m) => m.trim()) as Mode[];

const cores = availableParallelism();
/**
 * BENCH_PRIORITY=-10: a shared machine's other sessions get less CPU than this benchmark's
 * processes (each is its own autogroup, so this sets the autogroup's nice). Off by default.
 */
const PRIORITY = process.env.BENCH_PRIORITY === undefined ? undefined : Number(process.env.BENCH_PRIORITY);
const TARGETS = { perEvent: 1500, bulk: 5000, p99Ms: 50, rssMiB: 128 };

const started = Date.now();
function step(message: string): void {
  console.log(`» ${message}  (${Math.round((Date.now() - started) / 1000)} s)`);
}
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

function envList(value: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (value ?? "")
      .split(",")
      .map((kv) => kv.trim())
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

/** Refuses to run (exit 2) when a piece the pipeline needs is not in the tree yet. */
async function checkPieces(): Promise<void> {
  const missing: string[] = [];
  const need = (file: string, why: string): void => {
    if (!existsSync(path.join(root, file))) missing.push(`${file} (${why})`);
  };
  need("services/task-api/src/workers/outbox-relay.worker.ts", "task-api's outbox relay");
  need("services/audit-log/src/main.ts", "the audit-log service");
  need("services/audit-log/src/data/audit-entry.repository.ts", "audit-log's repository (baseline consumer)");
  need(
    "services/audit-log/src/domain/record-task-events.use-case.ts",
    "audit-log's use case (baseline consumer)",
  );
  const launcher = await readFile(path.join(root, "scripts/stack/stack.ts"), "utf8").catch(() => "");
  if (!launcher.includes("resourcesPath?: string"))
    missing.push("scripts/stack/stack.ts launchStack option resourcesPath (bulk subscription variant)");
  const config = await readFile(path.join(root, "services/task-api/src/config.ts"), "utf8").catch(() => "");
  if (!config.includes("OUTBOX_BULK_PUBLISH"))
    missing.push("task-api config OUTBOX_BULK_PUBLISH (relay modes)");
  if (missing.length > 0) {
    console.error(`bench:events cannot run, missing:\n${missing.map((m) => `  - ${m}`).join("\n")}`);
    process.exit(2);
  }
}

interface Resource {
  kind?: string;
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
}

/**
 * A copy of dapr-components/ for one mode: audit-log's subscription with bulkSubscribe on
 * (bulk) or off (per event); everything else as checked in. Returns the dir and what the
 * checked-in subscription says about bulk.
 */
async function writeResources(dir: string, mode: Mode): Promise<{ dir: string; checkedIn: string }> {
  await mkdir(dir, { recursive: true });
  let checkedIn = "off";
  for (const file of await readdir(COMPONENTS_DIR)) {
    if (!file.endsWith(".yaml")) continue;
    if (file !== "subscriptions.yaml") {
      await copyFile(path.join(COMPONENTS_DIR, file), path.join(dir, file));
      continue;
    }
    const docs = parseAllDocuments(await readFile(path.join(COMPONENTS_DIR, file), "utf8")).map(
      (d) => d.toJS() as Resource,
    );
    for (const doc of docs) {
      if (doc.kind !== "Subscription" || doc.metadata?.name !== "audit-log-task-events" || !doc.spec)
        continue;
      if (doc.spec.bulkSubscribe) checkedIn = JSON.stringify(doc.spec.bulkSubscribe);
      if (mode === "bulk")
        doc.spec.bulkSubscribe = {
          enabled: true,
          maxMessagesCount: BULK_MAX_MESSAGES,
          maxAwaitDurationMs: BULK_AWAIT_MS,
        };
      else delete doc.spec.bulkSubscribe;
    }
    await writeFile(path.join(dir, file), docs.map((d) => stringify(d)).join("---\n"));
  }
  return { dir, checkedIn };
}

/** Experiments on configuration.yaml without touching it: BENCH_DAPR_TRACING=<samplingRate>, BENCH_DAPR_METRICS=false. */
const DAPR_CONFIG_EDITS: [RegExp, string][] = [
  ...(process.env.BENCH_DAPR_TRACING === undefined
    ? []
    : [
        [/samplingRate: "?[0-9.]+"?/, `samplingRate: "${process.env.BENCH_DAPR_TRACING}"`] as [
          RegExp,
          string,
        ],
      ]),
  ...(process.env.BENCH_DAPR_METRICS === "false"
    ? [[/metrics:\n(\s+)enabled: true/, "metrics:\n$1enabled: false"] as [RegExp, string]]
    : []),
];

/** Rewrites the stack's copy of configuration.yaml and restarts the sidecars on it. */
async function editSidecarConfiguration(stack: RunningStack, workDir: string): Promise<void> {
  const file = path.join(workDir, "dapr-configuration.yaml");
  let text = await readFile(file, "utf8");
  for (const [pattern, replacement] of DAPR_CONFIG_EDITS) {
    if (!pattern.test(text)) throw new Error(`configuration.yaml: ${String(pattern)} not found`);
    text = text.replace(pattern, replacement);
  }
  await writeFile(file, text);
  for (const app of stack.apps) await stack.restart(app, "sidecar");
  await stack.waitForConsumers();
}

interface StepResult {
  rate: number;
  written: number;
  achievedRate: number;
  /** Recorded per second from 1 s into the step to its end. */
  deliveredRate: number;
  /** Written but not recorded at the end of the step, and how much of it is still in the outbox. */
  lag: number;
  inOutbox: number;
  keptUp: boolean;
}

interface RunResult {
  rate: number;
  written: number;
  latency: LatencySummary;
  stats: Map<string, WindowStats>;
  machine: MachineWindow;
}

interface PipelineResult {
  steps: StepResult[];
  /** The highest offered rate the pipeline kept up with. */
  peak: number;
  /** Recorded per second in the lowest step it could not keep up with (its saturated throughput). */
  saturated: number;
  half: RunResult;
}

/** Waits until `written` events are recorded (or the deadline passes; then says where they are). */
async function drain(pool: pg.Pool, written: number, label: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const recorded = await recordedCount(pool);
    if (recorded >= written) return;
    if (Date.now() > deadline) {
      const pending = await outboxPending(pool);
      throw new Error(
        `${label}: ${written - recorded} of ${written} events not recorded after ${timeoutMs / 1000} s (${pending} still in the outbox)`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Empties the history between runs, so counting it stays cheap and each run reads only its own rows. */
async function reset(pool: pg.Pool): Promise<void> {
  await pool.query("TRUNCATE audit_entries");
}

async function runStep(
  pool: pg.Pool,
  source: ReturnType<typeof createEventSource>,
  rate: number,
): Promise<StepResult> {
  let atOneSecond = 0;
  const probe = new Promise<void>((resolve) => {
    setTimeout(() => {
      void recordedCount(pool)
        .then((n) => {
          atOneSecond = n;
        })
        .finally(resolve);
    }, 1000);
  });
  const t0 = performance.now();
  const offered = await offerLoad(pool, source, rate, STEP_S);
  await probe;
  const [recorded, inOutbox] = await Promise.all([recordedCount(pool), outboxPending(pool)]);
  const seconds = (performance.now() - t0) / 1000 - 1;
  const lag = offered.written - recorded;
  return {
    rate,
    written: offered.written,
    achievedRate: offered.achievedRate,
    deliveredRate: (recorded - atOneSecond) / Math.max(seconds, 0.5),
    lag,
    inOutbox,
    keptUp: lag <= Math.max(rate * 0.5, 50) && offered.achievedRate >= rate * 0.9,
  };
}

/**
 * Offers `rate` for `seconds` and reads the latency of what was written after the warm-up: the
 * first second, or the first quarter of a shorter run (a 1 s smoke run would otherwise measure
 * nothing).
 */
async function latencyRun(
  pool: pg.Pool,
  source: ReturnType<typeof createEventSource>,
  sampler: ReturnType<typeof startSampler>,
  rate: number,
  seconds: number,
  label: string,
): Promise<RunResult> {
  await reset(pool);
  const warmUpMs = Math.min(1000, (seconds * 1000) / 4);
  const since = new Date((await databaseNow(pool)).getTime() + warmUpMs);
  const window = sampler.window();
  const offered = await offerLoad(pool, source, rate, seconds);
  const stats = window.end();
  await drain(pool, offered.written, label);
  return {
    rate,
    written: offered.written,
    latency: await latencySince(pool, since),
    stats,
    machine: window.machine(),
  };
}

/**
 * The ramp (x2 until the pipeline falls behind, then bisecting between the last rate it kept up
 * with and the first it did not, down to 20 %), then a run at half the peak for latency.
 */
async function measurePipeline(
  label: string,
  pool: pg.Pool,
  source: ReturnType<typeof createEventSource>,
  sampler: ReturnType<typeof startSampler>,
): Promise<PipelineResult> {
  const steps: StepResult[] = [];
  let good = 0;
  let bad = Infinity;
  let saturated = 0;
  let rate = START_RATE;
  while (steps.length < MAX_STEPS) {
    await reset(pool);
    const result = await runStep(pool, source, Math.round(rate));
    steps.push(result);
    console.log(
      `  ${label}: ${fmt(result.rate).padStart(6)} ev/s offered (${fmt(result.achievedRate).padStart(6)} written/s) -> ${fmt(result.deliveredRate).padStart(6)} recorded/s; behind at the end: ${fmt(result.lag)} (outbox ${fmt(result.inOutbox)}, past it ${fmt(Math.max(0, result.lag - result.inOutbox))})  ${result.keptUp ? "kept up" : "FELL BEHIND"}`,
    );
    await drain(pool, result.written, `${label} ramp`);
    if (result.keptUp) good = Math.max(good, result.rate);
    else {
      if (result.rate < bad) saturated = result.deliveredRate;
      bad = Math.min(bad, result.rate);
    }
    if (bad !== Infinity && good > 0 && bad / good <= 1.2) break;
    rate = bad === Infinity ? rate * 2 : good === 0 ? rate / 2 : Math.sqrt(good * bad);
    if (rate < 50) break;
  }
  const halfRate = Math.max(50, Math.round(good / 2));
  step(`${label}: ${HALF_S} s at half the peak (${fmt(halfRate)} ev/s)`);
  const half = await latencyRun(pool, source, sampler, halfRate, HALF_S, `${label} half peak`);
  console.log(
    `  ${label}: p50 ${fmt(half.latency.p50, 1)} ms, p99 ${fmt(half.latency.p99, 1)} ms, max ${fmt(half.latency.max, 1)} ms over ${fmt(half.latency.count)} events`,
  );
  return { steps, peak: good, saturated, half };
}

interface RestResult {
  connections: number;
  reqPerSec: number;
  errors: number;
  eventsPerSec: number;
  latency: LatencySummary;
}

/** Users with access tokens, for REST-driven writes. */
async function signUp(apiUrl: string, origin: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${apiUrl}/api/auth/sign-up/email`, {
      method: "POST",
      // fetch sends Sec-Fetch-Mode, so Better Auth's CSRF guard wants a trusted Origin.
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({
        email: `bench-events-${i}-${Date.now()}@example.com`,
        password: "correct-horse-battery",
        name: `Bench ${i}`,
      }),
    });
    if (!res.ok) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
    const session = res.headers.get("set-auth-token") ?? "";
    await res.body?.cancel();
    const jwt = (await (
      await fetch(`${apiUrl}/api/auth/token`, { headers: { authorization: `Bearer ${session}` } })
    ).json()) as { token: string };
    tokens.push(jwt.token);
  }
  return tokens;
}

/** Task writes through task-api's REST API as fast as it serves them; each create is one event. */
async function restRun(stack: RunningStack, pool: pg.Pool, label: string): Promise<RestResult> {
  const apiUrl = stack.urls["task-api"] ?? "";
  const origin = apiUrl.replace("127.0.0.1", "localhost");
  const tokens = await signUp(apiUrl, origin, SMOKE ? 2 : 8);
  await reset(pool);
  const since = new Date((await databaseNow(pool)).getTime() + 1000);
  let n = 0;
  const connections = 16;
  const result = await autocannon({
    url: apiUrl,
    connections,
    duration: REST_S,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => ({
          ...req,
          path: "/v1/tasks",
          headers: {
            authorization: `Bearer ${tokens[n++ % tokens.length] ?? ""}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({
            title: `REST bench task ${n}`,
            priority: "high",
            dueAt: "2026-12-24T09:00:00Z",
            tags: ["bench"],
          }),
        }),
      },
    ],
  });
  const created = result["2xx"];
  await drain(pool, created, label);
  const latency = await latencySince(pool, since);
  return {
    connections,
    reqPerSec: Math.round(result.requests.average),
    errors: result.errors + result.timeouts + result.non2xx,
    eventsPerSec: created / REST_S,
    latency,
  };
}

/** The baseline's two processes (scripts/bench/direct-pipeline.ts), started and ready. */
async function startDirect(options: {
  mode: Mode;
  brokers: string;
  databaseUrl: string;
  relayEnv: Record<string, string>;
}): Promise<{ relay: ManagedProcess; consumer: ManagedProcess; stop(): Promise<void> }> {
  const topic = `bench-direct-${options.mode}`;
  await createTopics(options.brokers, [topic], PARTITIONS);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: options.brokers,
    DIRECT_TOPIC: topic,
    GROUP_ID: topic,
    BULK: String(options.mode === "bulk"),
    BULK_MAX_MESSAGES: String(BULK_MAX_MESSAGES),
    OUTBOX_POLL_INTERVAL_MS: String(POLL_MS),
    ...options.relayEnv,
  };
  const launch = (role: "relay" | "consumer"): ManagedProcess =>
    startProcess({
      source: `direct-${role}`,
      command: process.execPath,
      args: ["--import", "tsx", path.join(root, "scripts/bench/direct-pipeline.ts"), role],
      cwd: root,
      env,
    });
  const relay = launch("relay");
  const consumer = launch("consumer");
  const stop = async (): Promise<void> => {
    await Promise.all([relay.stop(5000), consumer.stop(5000)]);
  };
  try {
    for (const proc of [relay, consumer]) {
      const deadline = Date.now() + 60_000;
      while (!proc.lines().some((l) => l.text === "ready")) {
        if (!proc.isRunning()) throw new Error(`${proc.source} exited:\n${proc.tail(20)}`);
        if (Date.now() > deadline) throw new Error(`${proc.source} not ready in 60 s:\n${proc.tail(20)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { relay, consumer, stop };
}

/** Average record value size per topic, from the first records of each (a throwaway consumer group). */
async function recordSizes(brokers: string, topics: string[], wanted = 200): Promise<Record<string, number>> {
  const kafka = new Kafka({
    clientId: "bench-events-sizes",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `bench-sizes-${Date.now()}` });
  const seen = new Map<string, number[]>(topics.map((t) => [t, []]));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const list = seen.get(batch.topic);
        for (const m of batch.messages) if (list && list.length < wanted) list.push(m.value?.length ?? 0);
        if ([...seen.values()].every((l) => l.length >= wanted)) done();
        await Promise.resolve();
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return Object.fromEntries(
    [...seen].map(([t, l]) => [t, l.length > 0 ? l.reduce((a, b) => a + b, 0) / l.length : NaN]),
  );
}

interface ModeResult {
  mode: Mode;
  subscription: string;
  dapr: PipelineResult;
  direct: PipelineResult;
  rest: RestResult | undefined;
  /** Highest RSS sampled over the stack's life (or VmHWM), MiB. */
  daprdPeak: { taskApi: number; auditLog: number };
  stackStartMs: number;
}

const DAPRD = { taskApi: "task-api daprd", auditLog: "audit-log daprd" } as const;

async function main(): Promise<void> {
  const file = outputFile("events");
  announceSmoke();
  await checkPieces();
  const [load1] = loadavg();
  if ((load1 ?? 0) > cores * 0.5)
    console.log(
      `! load average ${fmt(load1 ?? 0, 1)} on ${cores} cores before the run: other work shares the CPUs, figures will be low (see "other processes" below)`,
    );

  step("starting PostgreSQL (embedded, temporary)");
  const dataDir = await mkdtemp(path.join(tmpdir(), "taskmesh-bench-events-"));
  await chmod(dataDir, 0o755);
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const server = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, "pg"),
    port: await freePort(),
    database: "bench",
    // A diagnostic knob, e.g. "-c synchronous_commit=off" to see what commit fsyncs cost.
    ...(process.env.BENCH_PG_FLAGS ? { postgresFlags: process.env.BENCH_PG_FLAGS.split(" ") } : {}),
  });
  cleanups.push(() => server.stop());
  const admin = new pg.Client({ connectionString: server.adminConnectionString });
  await admin.connect();
  await admin.query("CREATE DATABASE bench_direct");
  await admin.query("CREATE DATABASE bench_state");
  await admin.end();
  const urlOf = (db: string): string => server.connectionString.replace(/\/bench$/, `/${db}`);
  const databaseUrl = server.connectionString;
  const directUrl = urlOf("bench_direct");
  await applyMigrations({ connectionString: databaseUrl });
  await applyMigrations({ connectionString: directUrl });

  step("building task-api and audit-log; starting Kafka");
  const kafkaPort = await freePort();
  const [, kafka] = await Promise.all([
    buildServices(["task-api", "audit-log"]),
    startKafka({
      dataDir: path.join(dataDir, "kafka"),
      port: kafkaPort,
      controllerPort: await freePort(),
      heap: "256m",
      partitions: PARTITIONS,
    }),
  ]);
  cleanups.push(() => kafka.stop());
  await createTopics(kafka.brokers, await declaredTopics(), PARTITIONS);

  const sampler = startSampler();
  const track = (name: string, pid: number): void => {
    sampler.track(name, pid);
    if (PRIORITY !== undefined && !setAutogroupNice(pid, PRIORITY))
      console.log(`  could not set the priority of ${name} (pid ${pid})`);
  };
  cleanups.push(() => {
    sampler.stop();
    return Promise.resolve();
  });
  track("kafka", kafka.process().pid);
  track("bench (load)", process.pid);
  const postmasterPid = Number(
    (await readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8").catch(() => "0")).split("\n")[0],
  );
  if (postmasterPid > 0) {
    sampler.trackPostgres(postmasterPid);
    if (PRIORITY !== undefined) setAutogroupNice(postmasterPid, PRIORITY);
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  const directPool = new pg.Pool({ connectionString: directUrl, max: 4 });
  cleanups.push(() => pool.end());
  cleanups.push(() => directPool.end());
  const source = createEventSource({ tasks: TASKS, users: 50 });
  const taskApiExtra = envList(process.env.BENCH_TASK_API_ENV);
  const auditLogExtra = envList(process.env.BENCH_AUDIT_LOG_ENV);
  const daprdExtra = envList(process.env.BENCH_DAPRD_ENV);

  const results: ModeResult[] = [];
  for (const mode of MODES) {
    const label = mode === "bulk" ? "bulk" : "per event";
    const resources = await writeResources(path.join(dataDir, `resources-${mode}`), mode);
    step(`${label}: starting task-api and audit-log with their sidecars (launchStack)`);
    const t0 = performance.now();
    const stack = await launchStack({
      apps: ["task-api", "audit-log"],
      workDir: path.join(dataDir, `stack-${mode}`),
      databaseUrl,
      stateDatabaseUrl: urlOf("bench_state"),
      kafka: { brokers: kafka.brokers },
      partitions: PARTITIONS,
      resourcesPath: resources.dir,
      appLogLevel: "warn",
      daprdLogLevel: "warn",
      env: {
        "task-api": {
          ...BENCH_TASK_API_ENV,
          OUTBOX_BULK_PUBLISH: String(mode === "bulk"),
          OUTBOX_POLL_INTERVAL_MS: String(POLL_MS),
          ...taskApiExtra,
        },
        "audit-log": { NODE_ENV: "production", ...auditLogExtra },
      },
      ...(Object.keys(daprdExtra).length > 0 ? { daprdEnv: daprdExtra } : {}),
      log: (line) => {
        console.log(`  ${line}`);
      },
    });
    const stackStartMs = Math.round(performance.now() - t0);
    // The sidecars must really load this mode's subscription.
    for (const proc of stack.processes().filter((p) => p.source.endsWith(":dapr"))) {
      const cmdline = await readFile(`/proc/${proc.pid}/cmdline`, "utf8").catch(() => "");
      if (!cmdline.split("\0").includes(resources.dir)) {
        await stack.stop();
        throw new Error(`${proc.source} does not load ${resources.dir}: ${cmdline.replaceAll("\0", " ")}`);
      }
    }
    if (DAPR_CONFIG_EDITS.length > 0)
      await editSidecarConfiguration(stack, path.join(dataDir, `stack-${mode}`));
    let dapr: PipelineResult;
    let rest: RestResult | undefined;
    try {
      for (const proc of stack.processes()) {
        const name = proc.source.endsWith(":dapr")
          ? `${proc.source.replace(":dapr", "")} daprd`
          : proc.source;
        if (name !== "kafka") track(name, proc.pid);
      }
      step(`${label}: Dapr pipeline, ramp`);
      dapr = await measurePipeline(`${label} Dapr`, pool, source, sampler);
      step(`${label}: REST-driven run (POST /v1/tasks, ${REST_S} s)`);
      rest = await restRun(stack, pool, `${label} REST`).catch((error: unknown) => {
        // A smoke run exists to notice what stopped working: there a failed REST run fails it.
        if (SMOKE) throw error;
        console.log(`  REST run failed: ${(error as Error).message}`);
        return undefined;
      });
      if (rest)
        console.log(
          `  REST: ${fmt(rest.reqPerSec)} req/s, ${fmt(rest.eventsPerSec)} events/s recorded, p50 ${fmt(rest.latency.p50, 1)} ms, p99 ${fmt(rest.latency.p99, 1)} ms`,
        );
    } catch (error) {
      for (const app of stack.apps)
        console.log(
          `--- last lines of ${app} and its sidecar ---\n${stack.logs(app).split("\n").slice(-25).join("\n")}`,
        );
      await stack.stop();
      throw error;
    }
    const daprdPeak = { taskApi: sampler.peakMiB(DAPRD.taskApi), auditLog: sampler.peakMiB(DAPRD.auditLog) };
    const errorLines = stack
      .logs()
      .split("\n")
      .filter((l) => /"level":"(error|fatal)"|level=error|level=fatal/.test(l));
    if (errorLines.length > 0)
      console.log(
        `  the stack logged ${errorLines.length} error lines, e.g.\n  ${errorLines.slice(0, 3).join("\n  ").slice(0, 1200)}`,
      );
    await stack.stop();
    for (const name of ["task-api", "audit-log", DAPRD.taskApi, DAPRD.auditLog]) sampler.untrack(name);

    step(`${label}: baseline (kafkajs producer and consumer, no Dapr)`);
    const direct = await startDirect({
      mode,
      brokers: kafka.brokers,
      databaseUrl: directUrl,
      relayEnv: {
        OUTBOX_BATCH_SIZE: taskApiExtra.OUTBOX_BATCH_SIZE ?? "250",
        OUTBOX_PUBLISH_CONCURRENCY: taskApiExtra.OUTBOX_PUBLISH_CONCURRENCY ?? "32",
      },
    });
    let directResult: PipelineResult;
    try {
      track("direct relay", direct.relay.pid);
      track("direct consumer", direct.consumer.pid);
      directResult = await measurePipeline(`${label} direct`, directPool, source, sampler);
    } finally {
      await direct.stop();
      sampler.untrack("direct relay");
      sampler.untrack("direct consumer");
    }
    results.push({
      mode,
      subscription:
        mode === "bulk"
          ? `bulkSubscribe ${BULK_MAX_MESSAGES} msgs / ${BULK_AWAIT_MS} ms (checked in: ${resources.checkedIn})`
          : `per event (checked in: bulkSubscribe ${resources.checkedIn})`,
      dapr,
      direct: directResult,
      rest,
      daprdPeak,
      stackStartMs,
    });
  }

  step("record sizes on the broker");
  const lastMode = MODES.at(-1) ?? "per-event";
  const sizes = await recordSizes(
    kafka.brokers,
    ["task-events", `bench-direct-${lastMode}`],
    SMOKE ? 10 : 200,
  ).catch((): Record<string, number> => ({}));

  const checks = report(results, sizes, lastMode);
  await writeResults(file, results, sizes, checks);
  await cleanup();
}

function report(results: ModeResult[], sizes: Record<string, number>, lastMode: Mode): unknown[] {
  const ratio = (a: number, b: number): string =>
    b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-";
  const rss = (stats: Map<string, WindowStats>, name: string): number => stats.get(name)?.steadyRss ?? NaN;
  const head = `${"pipeline (outbox rows written by the bench)".padEnd(52)} ${"peak ev/s".padStart(9)} ${"saturated".padStart(9)} | ${"half ev/s".padStart(9)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)} | ${"daprd RSS MiB peak/steady".padStart(27)}`;
  console.log(`\n${head}\n${"-".repeat(head.length)}`);
  for (const r of results) {
    const rows: [string, PipelineResult, string][] = [
      [
        r.mode === "bulk"
          ? `Dapr: bulk publish + bulkSubscribe ${BULK_MAX_MESSAGES}/${BULK_AWAIT_MS}ms`
          : "Dapr: publish per event + delivery per event",
        r.dapr,
        `task-api ${fmt(r.daprdPeak.taskApi)}/${fmt(rss(r.dapr.half.stats, DAPRD.taskApi))}  audit-log ${fmt(r.daprdPeak.auditLog)}/${fmt(rss(r.dapr.half.stats, DAPRD.auditLog))}`,
      ],
      [
        r.mode === "bulk"
          ? "direct kafkajs: send per batch + eachBatch"
          : "direct kafkajs: send per event + eachMessage",
        r.direct,
        "",
      ],
    ];
    for (const [name, p, mem] of rows) {
      console.log(
        `${name.padEnd(52)} ${fmt(p.peak).padStart(9)} ${fmt(p.saturated).padStart(9)} | ${fmt(p.half.rate).padStart(9)} ${fmt(p.half.latency.p50, 1).padStart(7)} ${fmt(p.half.latency.p99, 1).padStart(7)} ${fmt(p.half.latency.max, 1).padStart(7)} | ${mem}`,
      );
    }
    console.log(
      `${"  Dapr / direct".padEnd(52)} ${ratio(r.dapr.peak, r.direct.peak).padStart(9)} ${ratio(r.dapr.saturated, r.direct.saturated).padStart(9)} | ${"".padStart(9)} ${ratio(r.dapr.half.latency.p50, r.direct.half.latency.p50).padStart(7)} ${ratio(r.dapr.half.latency.p99, r.direct.half.latency.p99).padStart(7)}`,
    );
  }
  console.log("\nREST-driven (POST /v1/tasks through task-api, 16 connections; one event per request)");
  for (const r of results) {
    if (!r.rest) {
      console.log(`  ${r.mode.padEnd(10)} failed`);
      continue;
    }
    console.log(
      `  ${r.mode.padEnd(10)} ${fmt(r.rest.reqPerSec).padStart(6)} req/s  ${fmt(r.rest.eventsPerSec).padStart(6)} events/s recorded  p50 ${fmt(r.rest.latency.p50, 1)} ms  p99 ${fmt(r.rest.latency.p99, 1)} ms  (errors ${r.rest.errors})`,
    );
  }

  console.log("\nCPU at half peak (ms of CPU per 1,000 events; cores busy)");
  for (const r of results) {
    for (const [which, p] of [
      ["Dapr", r.dapr],
      ["direct", r.direct],
    ] as const) {
      const perK = (cpu: number): string => fmt((cpu * 1e6) / Math.max(p.half.written, 1));
      const tracked = [...p.half.stats].filter(([, s]) => s.cpuSeconds > 0);
      const parts = tracked.map(([name, s]) => `${name} ${perK(s.cpuSeconds)} (${fmt(s.cpuCores, 2)})`);
      const m = p.half.machine;
      parts.push(`postgres ${perK(m.postgresCpuSeconds)} (${fmt(m.postgresCores, 2)})`);
      const ours = tracked.reduce((sum, [, s]) => sum + s.cpuCores, 0) + m.postgresCores;
      console.log(`  ${r.mode.padEnd(10)} ${which.padEnd(7)} ${parts.join(", ")}`);
      console.log(
        `  ${"".padEnd(18)} machine ${fmt(m.busyCores, 2)} of ${cores} cores busy; other processes ${fmt(Math.max(0, m.busyCores - ours), 2)}`,
      );
    }
  }
  const daprSize = sizes["task-events"];
  const directSize = sizes[`bench-direct-${lastMode}`];
  console.log(
    `\nrecord value size: Dapr ${fmt(daprSize ?? NaN)} B, direct ${fmt(directSize ?? NaN)} B; ${PARTITIONS} partitions; steps ${STEP_S} s, half-peak run ${HALF_S} s; relay polls every ${POLL_MS} ms (bench-written rows do not wake it)`,
  );
  const variations = [
    process.env.BENCH_DAPRD_ENV && `daprd env ${process.env.BENCH_DAPRD_ENV}`,
    process.env.BENCH_DAPR_TRACING && `tracing samplingRate ${process.env.BENCH_DAPR_TRACING}`,
    process.env.BENCH_DAPR_METRICS && `metrics ${process.env.BENCH_DAPR_METRICS}`,
    process.env.BENCH_TASK_API_ENV && `task-api ${process.env.BENCH_TASK_API_ENV}`,
    process.env.BENCH_AUDIT_LOG_ENV && `audit-log ${process.env.BENCH_AUDIT_LOG_ENV}`,
    process.env.BENCH_PG_FLAGS && `postgres ${process.env.BENCH_PG_FLAGS}`,
    PRIORITY !== undefined && `the benchmark's processes ran at autogroup nice ${PRIORITY}`,
  ].filter(Boolean);
  if (variations.length > 0) console.log(`changed from the checked-in setup: ${variations.join("; ")}`);
  console.log(
    `stack start: ${results.map((r) => `${r.mode} ${(r.stackStartMs / 1000).toFixed(1)} s`).join(", ")}`,
  );

  const perEvent = results.find((r) => r.mode === "per-event");
  const bulk = results.find((r) => r.mode === "bulk");
  const maxDaprd = Math.max(0, ...results.flatMap((r) => [r.daprdPeak.taskApi, r.daprdPeak.auditLog]));
  const checks = [
    ...(perEvent
      ? [
          {
            target: `>= ${fmt(TARGETS.perEvent)} events/s sustained without bulk APIs`,
            value: `${fmt(perEvent.dapr.peak)} ev/s`,
            ok: perEvent.dapr.peak >= TARGETS.perEvent,
          },
        ]
      : []),
    ...(bulk
      ? [
          {
            target: `>= ${fmt(TARGETS.bulk)} events/s with bulk publish/subscribe`,
            value: `${fmt(bulk.dapr.peak)} ev/s`,
            ok: bulk.dapr.peak >= TARGETS.bulk,
          },
        ]
      : []),
    ...results.map((r) => ({
      target: `${r.mode}: end-to-end p99 < ${TARGETS.p99Ms} ms at half the peak`,
      value: `${fmt(r.dapr.half.latency.p99, 1)} ms at ${fmt(r.dapr.half.rate)} ev/s`,
      ok: r.dapr.half.latency.p99 < TARGETS.p99Ms,
    })),
    {
      target: `daprd RSS < ${TARGETS.rssMiB} MiB`,
      value: `${fmt(maxDaprd)} MiB peak`,
      ok: maxDaprd < TARGETS.rssMiB,
    },
  ];
  console.log("");
  for (const c of checks) console.log(`  ${c.ok ? "meets " : "MISSES"}  ${c.target}: ${c.value}`);

  return checks;
}

async function writeResults(
  file: string,
  results: ModeResult[],
  sizes: Record<string, number>,
  checks: unknown[],
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const plain = (p: PipelineResult) => ({
    ...p,
    half: { ...p.half, stats: Object.fromEntries(p.half.stats) },
  });
  await writeFile(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        smoke: SMOKE,
        settings: {
          STEP_S,
          HALF_S,
          REST_S,
          START_RATE,
          PARTITIONS,
          TASKS,
          BULK_MAX_MESSAGES,
          BULK_AWAIT_MS,
          POLL_MS,
        },
        results: results.map((r) => ({ ...r, dapr: plain(r.dapr), direct: plain(r.direct) })),
        recordValueBytes: sizes,
        checks,
      },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${path.relative(root, file)} (${Math.round((Date.now() - started) / 1000)} s)`);
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
