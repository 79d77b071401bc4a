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
 * The parts: events/settings.ts (knobs, targets), events/setup.ts (resources per mode, the
 * baseline's processes, record sizes), events/pipeline.ts (ramp, half-peak and REST runs),
 * events/report.ts (tables, checks, JSON); harness.ts and report.ts are the benchmarks' shared ones.
 *
 * Smoke mode (--smoke or BENCH_SMOKE=1, scripts/bench/options.ts): one 1 s ramp step at 100
 * events/s, 1 s at half peak, a 1 s REST run, 2 partitions, both modes: proves the benchmark runs
 * end to end (a REST run that fails fails the run); the figures mean nothing.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { applyMigrations } from "@taskmesh/db";
import { freePort } from "@taskmesh/core";
import pg from "pg";
import { buildServices } from "../build.ts";
import { createTopics, declaredTopics, launchStack, startKafka, type RunningKafka } from "../stack/index.ts";
import { createEventSource } from "./event-load.ts";
import { measurePipeline, restRun, type PipelineResult, type RestResult } from "./events/pipeline.ts";
import { report, writeResults, type ModeResult } from "./events/report.ts";
import {
  BULK_AWAIT_MS,
  BULK_MAX_MESSAGES,
  DAPRD,
  envList,
  MODES,
  PARTITIONS,
  POLL_MS,
  REST_S,
  TASKS,
  type Mode,
} from "./events/settings.ts";
import {
  checkPieces,
  DAPR_CONFIG_EDITS,
  editSidecarConfiguration,
  recordSizes,
  startDirect,
  writeResources,
} from "./events/setup.ts";
import {
  createCleanups,
  PRIORITY,
  runBenchmark,
  startBenchPostgres,
  warnIfLoaded,
  type BenchPostgres,
} from "./harness.ts";
import { announceSmoke, outputFile, SMOKE } from "./options.ts";
import { setAutogroupNice, startSampler } from "./process-stats.ts";
import { fmt, timedStep as step } from "./report.ts";
import { BENCH_TASK_API_ENV } from "./task-api-env.ts";

const cleanups = createCleanups();
const taskApiExtra = envList(process.env.BENCH_TASK_API_ENV);
const auditLogExtra = envList(process.env.BENCH_AUDIT_LOG_ENV);
const daprdExtra = envList(process.env.BENCH_DAPRD_ENV);

/** What every mode runs on: one PostgreSQL (three databases), one Kafka, the sampler. */
interface Infrastructure {
  db: BenchPostgres;
  /** The baseline's database (the stack uses db.url). */
  directUrl: string;
  kafka: RunningKafka;
  sampler: ReturnType<typeof startSampler>;
  /** Samples a process (and sets its priority with BENCH_PRIORITY). */
  track(name: string, pid: number): void;
  pool: pg.Pool;
  directPool: pg.Pool;
  source: ReturnType<typeof createEventSource>;
}

async function startInfrastructure(): Promise<Infrastructure> {
  step("starting PostgreSQL (embedded, temporary)");
  const db = await startBenchPostgres(cleanups, {
    prefix: "taskmesh-bench-events-",
    extraDatabases: ["bench_direct", "bench_state"],
    // A diagnostic knob, e.g. "-c synchronous_commit=off" to see what commit fsyncs cost.
    ...(process.env.BENCH_PG_FLAGS ? { postgresFlags: process.env.BENCH_PG_FLAGS.split(" ") } : {}),
  });
  const directUrl = db.urlOf("bench_direct");
  await applyMigrations({ connectionString: db.url });
  await applyMigrations({ connectionString: directUrl });

  step("building task-api and audit-log; starting Kafka");
  const kafkaPort = await freePort();
  const [, kafka] = await Promise.all([
    buildServices(["task-api", "audit-log"]),
    startKafka({
      dataDir: path.join(db.dir, "kafka"),
      port: kafkaPort,
      controllerPort: await freePort(),
      heap: "256m",
      partitions: PARTITIONS,
    }),
  ]);
  cleanups.add(() => kafka.stop());
  await createTopics(kafka.brokers, await declaredTopics(), PARTITIONS);

  const sampler = startSampler();
  const track = (name: string, pid: number): void => {
    sampler.track(name, pid);
    if (PRIORITY !== undefined && !setAutogroupNice(pid, PRIORITY))
      console.log(`  could not set the priority of ${name} (pid ${pid})`);
  };
  cleanups.add(() => {
    sampler.stop();
    return Promise.resolve();
  });
  track("kafka", kafka.process().pid);
  track("bench (load)", process.pid);
  const postmasterPid = await db.postmasterPid();
  if (postmasterPid > 0) {
    sampler.trackPostgres(postmasterPid);
    if (PRIORITY !== undefined) setAutogroupNice(postmasterPid, PRIORITY);
  }
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const directPool = new pg.Pool({ connectionString: directUrl, max: 4 });
  cleanups.add(() => pool.end());
  cleanups.add(() => directPool.end());
  const source = createEventSource({ tasks: TASKS, users: 50 });
  return { db, directUrl, kafka, sampler, track, pool, directPool, source };
}

/** One mode's stack (task-api + audit-log with their sidecars) on this mode's resources, checked to load them. */
async function startModeStack(infra: Infrastructure, mode: Mode, resourcesDir: string) {
  const workDir = path.join(infra.db.dir, `stack-${mode}`);
  const t0 = performance.now();
  const stack = await launchStack({
    apps: ["task-api", "audit-log"],
    workDir,
    databaseUrl: infra.db.url,
    stateDatabaseUrl: infra.db.urlOf("bench_state"),
    kafka: { brokers: infra.kafka.brokers },
    partitions: PARTITIONS,
    resourcesPath: resourcesDir,
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
    if (!cmdline.split("\0").includes(resourcesDir)) {
      await stack.stop();
      throw new Error(`${proc.source} does not load ${resourcesDir}: ${cmdline.replaceAll("\0", " ")}`);
    }
  }
  if (DAPR_CONFIG_EDITS.length > 0) await editSidecarConfiguration(stack, workDir);
  return { stack, stackStartMs };
}

/** The Dapr pipeline of one mode: its stack, the ramp and half-peak run, the REST-driven run. */
async function measureDapr(infra: Infrastructure, mode: Mode, label: string, resourcesDir: string) {
  const { sampler, pool, source } = infra;
  step(`${label}: starting task-api and audit-log with their sidecars (launchStack)`);
  const { stack, stackStartMs } = await startModeStack(infra, mode, resourcesDir);
  let dapr: PipelineResult;
  let rest: RestResult | undefined;
  try {
    for (const proc of stack.processes()) {
      const name = proc.source.endsWith(":dapr") ? `${proc.source.replace(":dapr", "")} daprd` : proc.source;
      if (name !== "kafka") infra.track(name, proc.pid);
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
  return { dapr, rest, daprdPeak, stackStartMs };
}

/** The same pipeline without Dapr (kafkajs producer and consumer) in one mode. */
async function measureDirect(infra: Infrastructure, mode: Mode, label: string): Promise<PipelineResult> {
  step(`${label}: baseline (kafkajs producer and consumer, no Dapr)`);
  const direct = await startDirect({
    mode,
    brokers: infra.kafka.brokers,
    databaseUrl: infra.directUrl,
    relayEnv: {
      OUTBOX_BATCH_SIZE: taskApiExtra.OUTBOX_BATCH_SIZE ?? "250",
      OUTBOX_PUBLISH_CONCURRENCY: taskApiExtra.OUTBOX_PUBLISH_CONCURRENCY ?? "32",
    },
  });
  try {
    infra.track("direct relay", direct.relay.pid);
    infra.track("direct consumer", direct.consumer.pid);
    return await measurePipeline(`${label} direct`, infra.directPool, infra.source, infra.sampler);
  } finally {
    await direct.stop();
    infra.sampler.untrack("direct relay");
    infra.sampler.untrack("direct consumer");
  }
}

async function measureMode(infra: Infrastructure, mode: Mode): Promise<ModeResult> {
  const label = mode === "bulk" ? "bulk" : "per event";
  const resources = await writeResources(path.join(infra.db.dir, `resources-${mode}`), mode);
  const { dapr, rest, daprdPeak, stackStartMs } = await measureDapr(infra, mode, label, resources.dir);
  const direct = await measureDirect(infra, mode, label);
  return {
    mode,
    subscription:
      mode === "bulk"
        ? `bulkSubscribe ${BULK_MAX_MESSAGES} msgs / ${BULK_AWAIT_MS} ms (checked in: ${resources.checkedIn})`
        : `per event (checked in: bulkSubscribe ${resources.checkedIn})`,
    dapr,
    direct,
    rest,
    daprdPeak,
    stackStartMs,
  };
}

async function main(): Promise<void> {
  const file = outputFile("events");
  announceSmoke();
  await checkPieces();
  warnIfLoaded(
    ` before the run: other work shares the CPUs, figures will be low (see "other processes" below)`,
  );
  const infra = await startInfrastructure();
  const results: ModeResult[] = [];
  for (const mode of MODES) results.push(await measureMode(infra, mode));

  step("record sizes on the broker");
  const lastMode = MODES.at(-1) ?? "per-event";
  const sizes = await recordSizes(
    infra.kafka.brokers,
    ["task-events", `bench-direct-${lastMode}`],
    SMOKE ? 10 : 200,
  ).catch((): Record<string, number> => ({}));

  const checks = report(results, sizes, lastMode);
  await writeResults(file, results, sizes, checks);
}

runBenchmark(cleanups, main);
