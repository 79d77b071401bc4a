/**
 * A fault run: the real stack (task-api, audit-log, recurring-tasks and notifications when
 * present, each with its own daprd, Kafka, Sentry) on a PostgreSQL of the run's own, a steady
 * writer through task-api's REST API, and, one after another with recovery gaps: kill -9 of
 * audit-log, kill -9 of audit-log's daprd, a broker restart, a Postgres restart, kill -9 of
 * recurring-tasks. Whatever was killed is started again, as a supervisor would. Then the
 * writer stops, the stack drains, and verifyRun() checks that every acknowledged change has
 * exactly one history entry, no occurrence was created twice, and the outbox is empty.
 * Used by `npm run fault` (run.ts) and, shortened, by test/stack/fault.test.ts.
 */
import { appendFileSync, existsSync } from "node:fs";
import { chmod, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@taskmesh/core";
import { buildServices } from "../build.ts";
import {
  COMPONENTS_DIR,
  launchStack,
  listServices,
  type LogLine,
  type RunningStack,
  type StackPart,
} from "../stack/index.ts";
import { ApiUser } from "./client.ts";
import { startFaultDatabase, type FaultDatabase } from "./database.ts";
import { CounterScraper } from "./metrics.ts";
import { prepareRecurrenceProbe, probeHistory, probeRecurrence, type ProbeOutcome } from "./probes.ts";
import { appliedTwiceCount, lostCount, verifyRun, type Verification } from "./verify.ts";
import { Acknowledgements, Writer, type WriterStats } from "./writer.ts";

export type FaultName =
  "kill-consumer" | "kill-consumer-sidecar" | "restart-broker" | "restart-postgres" | "kill-recurring-tasks";

export const ALL_FAULTS: readonly FaultName[] = [
  "kill-consumer",
  "kill-consumer-sidecar",
  "restart-broker",
  "restart-postgres",
  "kill-recurring-tasks",
];

const FAULT_TITLES: Record<FaultName, string> = {
  "kill-consumer": "kill -9 audit-log",
  "kill-consumer-sidecar": "kill -9 audit-log's daprd",
  "restart-broker": "restart the broker",
  "restart-postgres": "restart Postgres",
  "kill-recurring-tasks": "kill -9 recurring-tasks",
};

/** The services a fault run is about; notifications joins when it exists. */
export const REQUIRED_APPS = ["task-api", "audit-log", "recurring-tasks"] as const;
const OPTIONAL_APPS = ["notifications"] as const;

export interface FaultRunOptions {
  /** Apps to run (default: REQUIRED_APPS, plus notifications when present). */
  apps?: readonly string[];
  /** Run with whichever required apps exist, skipping the faults and checks of the missing ones. */
  allowMissing?: boolean;
  faults?: readonly FaultName[];
  /** Writes per second. Default 30. */
  rate?: number;
  /** Users the writer signs up. Default 4. */
  users?: number;
  /** Steady writing before the first fault. Default 20 s. */
  warmupMs?: number;
  /** Steady writing between a fault's recovery and the next fault. Default 15 s. */
  gapMs?: number;
  /** How long a killed process stays dead before the "supervisor" starts it. Default 2 s. */
  supervisorDelayMs?: number;
  /** How long Postgres stays down. Default 5 s. */
  postgresDownMs?: number;
  /** Bound on a fault's recovery probes. Default 120 s. */
  recoveryTimeoutMs?: number;
  /** Bound on the final drain (outbox empty, history caught up). Default 180 s. */
  drainTimeoutMs?: number;
  /**
   * Build the services first (npm run build). Default true. A function builds instead (the
   * tests' build-once-per-run with its lock).
   */
  build?: boolean | ((apps: readonly string[]) => Promise<void>);
  /** Keep the run's directory (Postgres and Kafka data). Default false. */
  keepWorkDir?: boolean;
  /** Every process's output goes here; default a file in the temp directory. */
  logFile?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Stops the run (everything it started) when aborted; the run then rejects. */
  signal?: AbortSignal;
}

export interface FaultRecord {
  fault: FaultName;
  title: string;
  /** Seconds since the writer started. */
  atS: number;
  /** ms from the fault until what it broke was back (restarted and ready / serving). */
  restoredAfterMs: number | undefined;
  history: ProbeOutcome;
  recurrence: ProbeOutcome | undefined;
  error?: string;
}

export interface FaultRunResult {
  apps: readonly string[];
  skippedFaults: { fault: FaultName; reason: string }[];
  faults: FaultRecord[];
  writer: WriterStats;
  verification: Verification;
  lost: number;
  appliedTwice: number;
  /** Duplicate deliveries the consumers reported, from their logs ("<app>: <message>"). */
  duplicatesLogged: Record<string, number>;
  /** Counters scraped from /metrics ("<app> <metric>"), summed over process restarts. */
  counters: Record<string, number>;
  /** Processes that died without being killed by the run (each restarted like a supervisor would). */
  unexpectedExits: string[];
  /** Error-level log lines per process. */
  errorLines: Record<string, number>;
  drained: boolean;
  drainMs: number;
  /** How long the writer wrote (its rate is writer.acknowledged / writeS). */
  writeS: number;
  durationS: number;
  logFile: string;
  ok: boolean;
}

/** A required service does not exist (yet): the run cannot say anything about it. */
export class MissingServicesError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function chooseApps(options: FaultRunOptions): Promise<{ apps: string[]; missing: string[] }> {
  const available = await listServices();
  if (options.apps) {
    const missing = options.apps.filter((a) => !available.includes(a));
    if (missing.length > 0)
      throw new MissingServicesError(
        `no service ${missing.join(", ")} (services/<name>/src/main.ts); available: ${available.join(", ")}`,
      );
    return { apps: [...options.apps], missing: REQUIRED_APPS.filter((a) => !options.apps?.includes(a)) };
  }
  const missing = REQUIRED_APPS.filter((a) => !available.includes(a));
  if (missing.length > 0 && !options.allowMissing)
    throw new MissingServicesError(
      `the fault run needs ${REQUIRED_APPS.join(", ")}; missing: ${missing.map((m) => `services/${m}/src/main.ts`).join(", ")} ` +
        `(not there yet?). Run with --allow-missing to fault only what exists.`,
    );
  if (!available.includes("task-api") || !available.includes("audit-log"))
    throw new MissingServicesError("the fault run needs at least task-api and audit-log");
  const apps = [
    ...REQUIRED_APPS.filter((a) => available.includes(a)),
    ...OPTIONAL_APPS.filter((a) => available.includes(a)),
  ];
  return { apps, missing };
}

function pinoMessage(text: string): { level: string; msg: string } | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(text) as { level?: unknown; msg?: unknown };
    const level =
      typeof parsed.level === "string"
        ? parsed.level
        : typeof parsed.level === "number"
          ? ({ 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" }[parsed.level] ??
            "")
          : "";
    return { level, msg: typeof parsed.msg === "string" ? parsed.msg : "" };
  } catch {
    return undefined;
  }
}

/** Consumers' log messages for a redelivery or repeat they recognised (audit-log, recurring-tasks). */
const DUPLICATE_MESSAGE =
  /duplicate|already[ -](recorded|processed|created|exists|handled|done)|: existing$/i;

export async function runFaultRun(options: FaultRunOptions = {}): Promise<FaultRunResult> {
  const log = options.log ?? ((): void => undefined);
  const rate = options.rate ?? 30;
  const warmupMs = options.warmupMs ?? 20_000;
  const gapMs = options.gapMs ?? 15_000;
  const supervisorDelayMs = options.supervisorDelayMs ?? 2_000;
  const postgresDownMs = options.postgresDownMs ?? 5_000;
  const recoveryTimeoutMs = options.recoveryTimeoutMs ?? 120_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 180_000;

  const { apps, missing } = await chooseApps(options);
  const has = (app: string): boolean => apps.includes(app);
  const skippedFaults: FaultRunResult["skippedFaults"] = [];
  const faults = (options.faults ?? ALL_FAULTS).filter((fault) => {
    const needs = fault === "kill-recurring-tasks" ? "recurring-tasks" : "audit-log";
    if (has(needs)) return true;
    skippedFaults.push({ fault, reason: `${needs} is not part of this run` });
    return false;
  });
  if (missing.length > 0)
    log(`not part of this run: ${missing.join(", ")} (its faults and checks are skipped)`);

  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const logFile = options.logFile ?? path.join(tmpdir(), `taskmesh-fault-${stamp}.log`);
  const workDir = await mkdtemp(path.join(tmpdir(), "taskmesh-fault-"));
  // Postgres runs as the `postgres` user when we are root: it must reach its data directory.
  await chmod(workDir, 0o755);
  log(`work directory ${workDir}; process output in ${logFile}`);

  const startedAt = Date.now();
  const since = (): number => Math.round((Date.now() - startedAt) / 100) / 10;
  const duplicatesLogged: Record<string, number> = {};
  const errorLines: Record<string, number> = {};
  const unexpectedExits: string[] = [];
  const onLine = (line: LogLine): void => {
    appendFileSync(logFile, `${new Date(line.at).toISOString()} [${line.source}] ${line.text}\n`);
    const parsed = pinoMessage(line.text);
    if (!parsed) return;
    if (parsed.level === "error" || parsed.level === "fatal")
      errorLines[line.source] = (errorLines[line.source] ?? 0) + 1;
    if (!line.source.endsWith(":dapr") && DUPLICATE_MESSAGE.test(parsed.msg)) {
      const key = `${line.source}: ${parsed.msg}`;
      duplicatesLogged[key] = (duplicatesLogged[key] ?? 0) + 1;
    }
  };

  let db: FaultDatabase | undefined;
  let stack: RunningStack | undefined;
  let writer: Writer | undefined;
  let scraper: CounterScraper | undefined;
  let status: NodeJS.Timeout | undefined;
  const state = { stopping: false };
  // Read after awaits, where the cleanup may have set it.
  const isStopping = (): boolean => state.stopping;
  const restarting = new Set<string>();

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      state.stopping = true;
      if (status) clearInterval(status);
      await writer?.stop();
      await scraper?.stop().catch(() => undefined);
      await stack?.stop().catch((e: unknown) => {
        log(`stopping the stack: ${(e as Error).message}`);
      });
      await db?.stop().catch((e: unknown) => {
        log(`stopping postgres: ${(e as Error).message}`);
      });
      if (!options.keepWorkDir) await rm(workDir, { recursive: true, force: true });
      else log(`kept ${workDir}`);
      if (!existsSync(logFile)) log("(no process output was captured)");
    })());

  const main = async (): Promise<FaultRunResult> => {
    if (options.build !== false) {
      log(`building ${apps.join(", ")}...`);
      if (typeof options.build === "function") await options.build(apps);
      else await buildServices(apps);
    }
    db = await startFaultDatabase({ workDir, port: await freePort(), log });
    const database = db;
    log(`postgres on port ${db.port} (migrated, with the outbox ledger)`);

    // A supervisor: whatever dies without the run killing it is started again, and reported.
    // A supervisor: whatever dies without the run killing it is started again (with backoff,
    // as Kubernetes would: it may die again at start while what it needs is still down), and
    // reported. Deaths of the supervisor's own restart attempts are not counted again.
    const supervise = (source: string, code: number | null, signal: NodeJS.Signals | null): void => {
      if (restarting.has(source)) return;
      const what = `${source} exited unexpectedly (code ${code}, signal ${signal}) at t=${since()}s`;
      unexpectedExits.push(what);
      log(`!! ${what}`);
      const [app, sidecar] = source.split(":");
      if (state.stopping || !app || !apps.includes(app)) return;
      restarting.add(source);
      void (async () => {
        let delay = supervisorDelayMs;
        for (let attempt = 1; !state.stopping; attempt++) {
          await sleep(delay);
          if (isStopping()) break;
          try {
            await stack?.restart(app, sidecar ? "sidecar" : "app");
            log(`supervisor: ${source} started again (attempt ${attempt}) at t=${since()}s`);
            break;
          } catch (error) {
            log(`supervisor: ${source} did not start: ${(error as Error).message.split("\n")[0]}`);
            delay = Math.min(delay * 2, 10_000);
          }
        }
        restarting.delete(source);
      })();
    };

    // daprd hot-reloads its resources directory: an edit of dapr-components/ in the working
    // tree (by anyone, mid-run) would restart every sidecar, a fault the run did not inject.
    const resourcesPath = path.join(workDir, "dapr-components");
    await cp(COMPONENTS_DIR, resourcesPath, { recursive: true });

    log(`starting the stack: ${apps.join(", ")} (each with daprd), Kafka, Sentry...`);
    stack = await launchStack({
      apps,
      workDir: path.join(workDir, "stack"),
      databaseUrl: db.url,
      stateDatabaseUrl: db.stateUrl,
      resourcesPath,
      kafka: { heap: "256m" },
      env: {
        // One client machine writes for every user: per-IP and per-user limits would refuse it.
        "task-api": { RATE_LIMIT_IP_PER_MINUTE: "0", RATE_LIMIT_USER_PER_MINUTE: "0" },
        // audit-log logs each suppressed redelivery at debug.
        "audit-log": { LOG_LEVEL: "debug" },
      },
      appLogLevel: "info",
      daprdLogLevel: "info",
      onLine,
      onUnexpectedExit: supervise,
      log: (line) => {
        log(`  ${line}`);
      },
    });
    const running = stack;
    log(`stack ready in ${Math.round((running.timings.total ?? 0) / 1000)} s`);
    const taskApi = running.urls["task-api"] ?? "";

    const users = await Promise.all(
      Array.from({ length: options.users ?? 4 }, (_, i) =>
        ApiUser.signUp(taskApi, {
          name: `Fault Writer ${i + 1}`,
          ...(i % 2 ? { timeZone: "Europe/Berlin" } : {}),
        }),
      ),
    );
    const probeUser = await ApiUser.signUp(taskApi, { name: "Fault Probe" });
    const acknowledgements = new Acknowledgements();
    writer = new Writer({ users, acknowledgements, rate });
    scraper = new CounterScraper(running.opsUrls);
    scraper.start();

    const backlog = async (): Promise<{ outbox: number; unapplied: number }> => {
      const [row] = await database.query<{ outbox: string; unapplied: string }>(
        `SELECT (SELECT count(*) FROM outbox_events)::text AS outbox,
                (SELECT count(*) FROM fault_outbox_ledger l
                  WHERE NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.event_id = l.event_id))::text AS unapplied`,
        [],
        1000,
      );
      return { outbox: Number(row?.outbox ?? 0), unapplied: Number(row?.unapplied ?? 0) };
    };
    const activeWriter = writer;
    status = setInterval(() => {
      void backlog().then(
        (b) => {
          const s = activeWriter.stats;
          log(
            `t=${since()}s writes ok=${s.acknowledged} failed=${Object.values(s.failures).reduce((a, n) => a + n, 0)} ` +
              `skipped=${s.skipped} | outbox=${b.outbox} not yet in history=${b.unapplied}`,
          );
        },
        () => {
          log(`t=${since()}s database unreachable`);
        },
      );
    }, 5000);

    log(`writing at ${rate}/s as ${users.length} users...`);
    writer.start();
    const writerStartedAt = Date.now();

    // Nothing can be said about faults if events do not flow to begin with.
    const firstEntry = await (async () => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const rows = await database.query("SELECT 1 FROM audit_entries LIMIT 1");
        if (rows.length > 0) return true;
        await sleep(500);
      }
      return false;
    })();
    if (!firstEntry)
      throw new Error(
        "no task event reached audit_entries within 90 s of the first write: is task-api's outbox relay " +
          `running and audit-log subscribed? (see ${logFile})`,
      );
    await sleep(Math.max(0, writerStartedAt + warmupMs - Date.now()));

    const records: FaultRecord[] = [];
    for (const [index, fault] of faults.entries()) {
      if (index > 0) await sleep(gapMs);
      const recurring = has("recurring-tasks")
        ? await prepareRecurrenceProbe(probeUser, acknowledgements)
        : undefined;
      const atS = Math.round((Date.now() - writerStartedAt) / 1000);
      log(`--- fault ${index + 1}/${faults.length} at t=${since()}s: ${FAULT_TITLES[fault]}`);
      const faultAt = Date.now();
      const probes = (): Promise<[ProbeOutcome, ProbeOutcome | undefined]> =>
        Promise.all([
          probeHistory({
            user: probeUser,
            db: database,
            acknowledgements,
            faultAt,
            timeoutMs: recoveryTimeoutMs,
          }),
          recurring
            ? probeRecurrence({
                user: probeUser,
                task: recurring,
                db: database,
                acknowledgements,
                faultAt,
                timeoutMs: recoveryTimeoutMs,
              })
            : Promise.resolve(undefined),
        ]);
      const killAndRestart = async (app: string, part: StackPart): Promise<void> => {
        await running.kill(app, part, "SIGKILL");
        await sleep(supervisorDelayMs);
        await running.restart(app, part);
      };
      let restoredAfterMs: number | undefined;
      let error: string | undefined;
      const inject = async (): Promise<void> => {
        switch (fault) {
          case "kill-consumer":
            await killAndRestart("audit-log", "app");
            break;
          case "kill-consumer-sidecar":
            await killAndRestart("audit-log", "sidecar");
            break;
          case "restart-broker":
            await running.restartBroker();
            break;
          case "restart-postgres":
            await database.restart(postgresDownMs);
            break;
          case "kill-recurring-tasks":
            await killAndRestart("recurring-tasks", "app");
            break;
        }
        restoredAfterMs = Date.now() - faultAt;
      };
      const [, [history, recurrence]] = await Promise.all([
        inject().catch((e: unknown) => {
          error = (e as Error).message.split("\n")[0];
          log(`!! ${FAULT_TITLES[fault]}: ${error}`);
        }),
        probes(),
      ]);
      const record: FaultRecord = {
        fault,
        title: FAULT_TITLES[fault],
        atS,
        restoredAfterMs,
        history,
        recurrence,
        ...(error ? { error } : {}),
      };
      records.push(record);
      const seconds = (ms: number | undefined): string =>
        ms === undefined ? "never" : `${(ms / 1000).toFixed(1)} s`;
      log(
        `    restored after ${seconds(restoredAfterMs)}; history flowing after ${seconds(history.recoveredAfterMs)}` +
          (recurrence ? `; recurrences after ${seconds(recurrence.recoveredAfterMs)}` : ""),
      );
    }
    await sleep(Math.min(gapMs, 10_000));

    log(`stopping the writer at t=${since()}s; waiting for the outbox and the history to drain...`);
    await writer.stop();
    const writeS = (Date.now() - writerStartedAt) / 1000;
    const drainStarted = Date.now();
    let drained = false;
    while (Date.now() - drainStarted < drainTimeoutMs) {
      try {
        const pendingOccurrences = has("recurring-tasks")
          ? (await verifyRun(database, acknowledgements.changes, { recurrence: true })).occurrencesMissing
              .length
          : 0;
        const b = await backlog();
        if (pendingOccurrences === 0 && b.outbox === 0 && b.unapplied === 0) {
          drained = true;
          break;
        }
      } catch {
        // keep waiting
      }
      await sleep(1000);
    }
    const drainMs = Date.now() - drainStarted;
    log(
      drained
        ? `drained in ${(drainMs / 1000).toFixed(1)} s`
        : `!! not drained within ${drainTimeoutMs / 1000} s`,
    );
    clearInterval(status);
    status = undefined;
    await scraper.stop();

    const verification = await verifyRun(database, acknowledgements.changes, {
      recurrence: has("recurring-tasks"),
    });
    const lost = lostCount(verification);
    const appliedTwice = appliedTwiceCount(verification);
    const ok =
      lost === 0 &&
      appliedTwice === 0 &&
      verification.lostAcknowledged.length === 0 &&
      verification.sequenceGaps.length === 0 &&
      verification.occurrencesUnexpected.length === 0 &&
      verification.outboxLeft === 0;
    return {
      apps,
      skippedFaults,
      faults: records,
      writer: writer.stats,
      verification,
      lost,
      appliedTwice,
      duplicatesLogged,
      counters: Object.fromEntries(scraper.totals()),
      unexpectedExits,
      errorLines,
      drained,
      drainMs,
      writeS,
      durationS: Math.round((Date.now() - startedAt) / 1000),
      logFile,
      ok,
    };
  };

  const run = main().finally(cleanup);
  const { signal } = options;
  if (!signal) return run;
  // Aborted (Ctrl-C): stop everything now; the abandoned main flow fails against the stopped stack.
  run.catch(() => undefined);
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = (): void => {
      void cleanup().then(() => {
        reject(new Error("the fault run was interrupted"));
      });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([run, aborted]);
}
