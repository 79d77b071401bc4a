/** bench:events' knobs (see the header of scripts/bench/events.ts) and targets. */
import { knob } from "../options.ts";

export const STEP_S = knob("BENCH_STEP_SECONDS", 3, 1);
export const HALF_S = knob("BENCH_HALF_SECONDS", 6, 1);
export const REST_S = knob("BENCH_REST_SECONDS", 6, 1);
export const START_RATE = knob("BENCH_START_RATE", 1000, 100);
export const MAX_STEPS = knob("BENCH_MAX_STEPS", 7, 1);
export const PARTITIONS = knob("BENCH_PARTITIONS", 6, 2);
export const TASKS = knob("BENCH_TASKS", 5000, 100);
export const BULK_MAX_MESSAGES = knob("BENCH_BULK_MAX_MESSAGES", 100);
export const BULK_AWAIT_MS = knob("BENCH_BULK_AWAIT_MS", 20);
/** The relay's poll interval: rows inserted by the benchmark do not wake it as task-api's own commits do. */
export const POLL_MS = knob("BENCH_OUTBOX_POLL_INTERVAL_MS", 10);
export type Mode = "per-event" | "bulk";
export const MODES = (process.env.BENCH_MODES ?? "per-event,bulk").split(",").map((m) => m.trim()) as Mode[];

export const TARGETS = { perEvent: 1500, bulk: 5000, p99Ms: 50, rssMiB: 128 };

/** The process names the sampler tracks the two sidecars under. */
export const DAPRD = { taskApi: "task-api daprd", auditLog: "audit-log daprd" } as const;

/** "K=V,K=V" (BENCH_TASK_API_ENV and friends) as an environment. */
export function envList(value: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (value ?? "")
      .split(",")
      .map((kv) => kv.trim())
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}
