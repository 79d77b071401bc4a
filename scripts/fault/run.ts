/**
 * `npm run fault [-- options]`: the fault run (see fault-run.ts). Prints progress, then the
 * figures; exits 1 when an acknowledged change was lost, something was applied twice or the
 * outbox did not drain, 2 when the run could not be made (a service missing, the stack down).
 *
 *   --rate N            writes per second (30)
 *   --users N           writing users (4)
 *   --warmup S          seconds of steady writing before the first fault (20)
 *   --gap S             seconds of steady writing between faults (15)
 *   --faults a,b        subset/order of: kill-consumer, kill-consumer-sidecar, restart-broker,
 *                       restart-postgres, kill-recurring-tasks (all)
 *   --apps a,b          exactly these services (default task-api, audit-log, recurring-tasks,
 *                       plus notifications when present)
 *   --allow-missing     run with the required services that exist
 *   --postgres-down S   seconds Postgres stays down (5)
 *   --drain-timeout S   bound on the final drain (180)
 *   --no-build          use the services' existing dist/main.js
 *   --keep              keep the run's directory (Postgres and Kafka data)
 */
import { parseArgs } from "node:util";
import { ALL_FAULTS, MissingServicesError, runFaultRun, type FaultName } from "./fault-run.ts";
import { formatReport } from "./report.ts";

const { values } = parseArgs({
  options: {
    rate: { type: "string" },
    users: { type: "string" },
    warmup: { type: "string" },
    gap: { type: "string" },
    faults: { type: "string" },
    apps: { type: "string" },
    "allow-missing": { type: "boolean" },
    "postgres-down": { type: "string" },
    "drain-timeout": { type: "string" },
    "no-build": { type: "boolean" },
    keep: { type: "boolean" },
  },
});

const number = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number`);
    process.exit(2);
  }
  return n;
};
const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

const faults = list(values.faults);
const unknown = faults?.filter((f) => !(ALL_FAULTS as readonly string[]).includes(f)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown fault ${unknown.join(", ")}; known: ${ALL_FAULTS.join(", ")}`);
  process.exit(2);
}
const seconds = (name: string, value: string | undefined): number | undefined => {
  const n = number(name, value);
  return n === undefined ? undefined : n * 1000;
};

const apps = list(values.apps);
const rate = number("rate", values.rate);
const users = number("users", values.users);
const warmupMs = seconds("warmup", values.warmup);
const gapMs = seconds("gap", values.gap);
const postgresDownMs = seconds("postgres-down", values["postgres-down"]);
const drainTimeoutMs = seconds("drain-timeout", values["drain-timeout"]);

const log = (line: string): void => {
  console.log(`[fault ${new Date().toISOString().slice(11, 19)}] ${line}`);
};

// Ctrl-C (or SIGTERM): stop the stack and Postgres, then leave; a second Ctrl-C leaves at once
// (the stack's processes die with this one either way).
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) process.exit(130);
    log("interrupted: stopping everything...");
    controller.abort();
  });
}

try {
  const result = await runFaultRun({
    ...(apps ? { apps } : {}),
    ...(faults ? { faults: faults as FaultName[] } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(users !== undefined ? { users } : {}),
    ...(warmupMs !== undefined ? { warmupMs } : {}),
    ...(gapMs !== undefined ? { gapMs } : {}),
    ...(postgresDownMs !== undefined ? { postgresDownMs } : {}),
    ...(drainTimeoutMs !== undefined ? { drainTimeoutMs } : {}),
    allowMissing: values["allow-missing"] === true,
    build: values["no-build"] !== true,
    keepWorkDir: values.keep === true,
    log,
    signal: controller.signal,
  });
  console.log(`\n${formatReport(result)}`);
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  if (controller.signal.aborted) process.exit(130);
  if (error instanceof MissingServicesError) console.error(`\nfault run not possible: ${error.message}`);
  else
    console.error(
      `\nfault run aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  process.exit(2);
}
