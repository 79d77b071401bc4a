/**
 * How bench:events measures one pipeline (Dapr or the direct baseline): the ramp to its peak,
 * the latency run at half of it, and the REST-driven run through task-api.
 */
import autocannon from "autocannon";
import type pg from "pg";
import type { RunningStack } from "../../stack/index.ts";
import {
  databaseNow,
  latencySince,
  offerLoad,
  outboxPending,
  recordedCount,
  type createEventSource,
  type LatencySummary,
} from "../event-load.ts";
import { accessToken, signUpUser } from "../harness.ts";
import { SMOKE } from "../options.ts";
import type { MachineWindow, startSampler, WindowStats } from "../process-stats.ts";
import { fmt, timedStep as step } from "../report.ts";
import { HALF_S, MAX_STEPS, REST_S, START_RATE, STEP_S } from "./settings.ts";

export interface StepResult {
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

export interface RunResult {
  rate: number;
  written: number;
  latency: LatencySummary;
  stats: Map<string, WindowStats>;
  machine: MachineWindow;
}

export interface PipelineResult {
  steps: StepResult[];
  /** The highest offered rate the pipeline kept up with. */
  peak: number;
  /** Recorded per second in the lowest step it could not keep up with (its saturated throughput). */
  saturated: number;
  half: RunResult;
}

/** Waits until `written` events are recorded (or the deadline passes; then says where they are). */
export async function drain(
  pool: pg.Pool,
  written: number,
  label: string,
  timeoutMs = 60_000,
): Promise<void> {
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
export async function reset(pool: pg.Pool): Promise<void> {
  await pool.query("TRUNCATE audit_entries");
}

export async function runStep(
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
export async function latencyRun(
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
export async function measurePipeline(
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

export interface RestResult {
  connections: number;
  reqPerSec: number;
  errors: number;
  eventsPerSec: number;
  latency: LatencySummary;
}

/** Users with access tokens, for REST-driven writes. */
async function signUp(apiUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = await signUpUser(apiUrl, `bench-events-${i}`, `Bench ${i}`);
    tokens.push(await accessToken(apiUrl, user.session));
  }
  return tokens;
}

/** Task writes through task-api's REST API as fast as it serves them; each create is one event. */
export async function restRun(stack: RunningStack, pool: pg.Pool, label: string): Promise<RestResult> {
  const apiUrl = stack.urls["task-api"] ?? "";
  const tokens = await signUp(apiUrl, SMOKE ? 2 : 8);
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
