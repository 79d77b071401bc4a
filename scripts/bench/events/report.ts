/** bench:events' tables, target checks and JSON file. */
import { CORES as cores, PRIORITY } from "../harness.ts";
import { SMOKE } from "../options.ts";
import type { WindowStats } from "../process-stats.ts";
import { fmt, printChecks, ratio, writeResultFile, type Check } from "../report.ts";
import type { PipelineResult, RestResult } from "./pipeline.ts";
import {
  BULK_AWAIT_MS,
  BULK_MAX_MESSAGES,
  DAPRD,
  HALF_S,
  PARTITIONS,
  POLL_MS,
  REST_S,
  START_RATE,
  STEP_S,
  TARGETS,
  TASKS,
  type Mode,
} from "./settings.ts";

export interface ModeResult {
  mode: Mode;
  subscription: string;
  dapr: PipelineResult;
  direct: PipelineResult;
  rest: RestResult | undefined;
  /** Highest RSS sampled over the stack's life (or VmHWM), MiB. */
  daprdPeak: { taskApi: number; auditLog: number };
  stackStartMs: number;
}

export function report(results: ModeResult[], sizes: Record<string, number>, lastMode: Mode): Check[] {
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
  const checks: Check[] = [
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
  printChecks(checks);

  return checks;
}

export async function writeResults(
  file: string,
  results: ModeResult[],
  sizes: Record<string, number>,
  checks: Check[],
): Promise<void> {
  const plain = (p: PipelineResult) => ({
    ...p,
    half: { ...p.half, stats: Object.fromEntries(p.half.stats) },
  });
  await writeResultFile(
    file,
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
    { timed: true },
  );
}
