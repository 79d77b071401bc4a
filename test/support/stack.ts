/**
 * Usage: a test file that needs real sidecars calls `const stack = useStack({ apps: ["task-api",
 * "audit-log"] })` at the top of its describe block (or `await startStack(...)` in its own
 * beforeAll, with a hook timeout of ~3 minutes, and `stack.stop()` in afterAll). Each stack is
 * private to the file: a fresh Kafka (topics task-events, reminders and their .dead-letter
 * twins, 6 partitions), Dapr Sentry (mTLS, so configuration.yaml's access control applies), a
 * fresh migrated database (`databaseUrl`) and an empty one for the Dapr state stores, and for
 * each app `node services/<app>/dist/main.js` (built once per run) with its own daprd on free
 * ports. When it resolves every app answers /readyz, every sidecar is healthy and subscribed,
 * and every consumer group is Stable, so a publish is delivered. Call the apps at
 * `stack().urls[app]` (user routes) or through the sidecars at `stack().daprUrls[app]` with
 * header `dapr-api-token: stack().daprApiToken` (`/v1.0/publish/taskmesh-pubsub/task-events`,
 * `/v1.0/invoke/<app>/method/...`); the apps expect `stack().appApiToken` from their sidecar.
 * Faults: `kill(app, "app" | "sidecar", signal?)`, `restart(app, part)`, `restartBroker()`,
 * then `waitForConsumers()`. `logs(app)` returns the captured output of an app and its sidecar
 * (printed for every process when a test fails under useStack). test/support/kafka.ts reads
 * topics (`readTopicUntil`) and publishes raw bytes (`publishRaw`) at `stack().kafkaBrokers`.
 * Apps get PORT, HOST, DATABASE_URL, DAPR_HTTP_PORT, APP_API_TOKEN, DAPR_API_TOKEN, LOG_LEVEL,
 * DATA_DIR, PUBLIC_URL (task-api) / AUTH_ISSUER (others) = task-api's URL; add more per app
 * with `env` (values may use `{url:task-api}`, `{port:app}`, `{dapr-port:app}`).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, inject } from "vitest";
import { buildServices } from "../../scripts/build.ts";
import { launchStack, type RunningStack, type StackPart } from "../../scripts/stack/index.ts";
import { createTestDatabase, type TestDatabase } from "./postgres.ts";

/** The services taskmesh has or will have; requesting one whose services/<name>/ does not exist yet fails. */
export type AppName = "task-api" | "mcp-server" | "notifications" | "audit-log" | "recurring-tasks";

export interface StartStackOptions {
  apps: AppName[];
  /**
   * Extra environment per app. Values may name other apps' addresses: `{url:task-api}`,
   * `{port:task-api}`, `{dapr-port:audit-log}`.
   */
  env?: Partial<Record<AppName, Record<string, string>>>;
  /** A migrated database to use; default a fresh one (createTestDatabase), dropped on stop(). */
  databaseUrl?: string;
  /** Wait for every consumer group to be Stable before resolving. Default true. */
  waitForConsumers?: boolean;
  /** false: no Sentry/mTLS (then configuration.yaml's access control denies every invocation). */
  mtls?: boolean;
  /** LOG_LEVEL of the apps (default "info": captured, printed only on failure). */
  appLogLevel?: string;
  /**
   * App ids whose app the test runs itself (e.g. an in-process HTTP server listening on
   * `port`): the stack runs only their sidecars. Handy to see what a callee receives.
   */
  externalApps?: Partial<Record<AppName, { port: number }>>;
  /** "per-app": every app and sidecar its own token pair (see appApiTokens). Default "shared". */
  tokens?: "shared" | "per-app";
}

export interface TestStack {
  apps: readonly AppName[];
  /** App base URLs of the public listeners, "http://127.0.0.1:<port>". */
  urls: Partial<Record<AppName, string>>;
  /** The sidecar listeners (the Dapr app ports daprd calls, 127.0.0.1). */
  sidecarUrls: Partial<Record<AppName, string>>;
  /** The operations listeners: /healthz, /readyz, /metrics. */
  opsUrls: Partial<Record<AppName, string>>;
  /** Each app's daprd HTTP API (send `dapr-api-token: daprApiToken`). */
  daprUrls: Partial<Record<AppName, string>>;
  /** What each daprd sends to its app (`dapr-api-token`). */
  appApiToken: string;
  /** What the apps (and tests) send to the sidecars. */
  daprApiToken: string;
  /** Per app (equal to the shared ones unless tokens: "per-app"). */
  appApiTokens: Partial<Record<AppName, string>>;
  daprApiTokens: Partial<Record<AppName, string>>;
  kafkaBrokers: string;
  databaseUrl: string;
  /** The (initially empty) database of the Dapr state stores. */
  stateDatabaseUrl: string;
  /** Start-up phases in ms (provision, kafka, sentry, app:<name>, sidecar:<name>, consumers, total). */
  timings: Readonly<Record<string, number>>;
  /** Sends a signal (default SIGKILL) to an app or its sidecar and waits until it has exited. */
  kill(app: AppName, part: StackPart, signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (same ports) and waits until it is ready (sidecar: healthy and subscribed). */
  restart(app: AppName, part: StackPart): Promise<void>;
  /** Controlled stop and start of the stack's Kafka (same data and port). */
  restartBroker(): Promise<void>;
  /**
   * Waits until every subscribing sidecar's consumer group is Stable with all partitions
   * assigned, and no member of a sidecar killed or restarted since is left (the coordinator
   * keeps a SIGKILLed consumer until its session times out, ~10 s).
   */
  waitForConsumers(timeoutMs?: number): Promise<void>;
  /** Captured output of an app and its sidecar (or "kafka", "sentry"; no argument: everything). */
  logs(app?: AppName | "kafka" | "sentry"): string;
  /** Stops every process and drops the databases the stack created. Idempotent. */
  stop(): Promise<void>;
}

const BUILD_LOCK_STALE_MS = 5 * 60_000;

/** Builds services/<app>/dist/main.js once per test run (the first stack that needs an app builds it). */
export async function buildOnce(apps: readonly string[]): Promise<void> {
  const runDir = inject("stackRunDir") as string | undefined;
  if (!runDir) {
    await buildServices([...apps]);
    return;
  }
  const marker = (app: string): string => path.join(runDir, `built-${app}`);
  if (apps.every((app) => existsSync(marker(app)))) return;
  const lock = path.join(runDir, "build.lock");
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // Another test file is building; a lock older than a build can take is left by a dead worker.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > BUILD_LOCK_STALE_MS) await rmdir(lock).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    const missing = apps.filter((app) => !existsSync(marker(app)));
    if (missing.length > 0) {
      await buildServices(missing);
      await Promise.all(missing.map((app) => writeFile(marker(app), "")));
    }
  } finally {
    await rmdir(lock);
  }
}

/**
 * A real taskmesh stack for a test file: a fresh Kafka (topics created), Dapr Sentry (mTLS),
 * and for each requested app `node services/<app>/dist/main.js` with its own daprd, on free
 * ports, against a fresh migrated database and an empty state-store database. Resolves when
 * every app is ready, every sidecar healthy and subscribed, and every consumer group Stable.
 * Every process dies with stop() or with the test process.
 */
export async function startStack(options: StartStackOptions): Promise<TestStack> {
  const runDir = (inject("stackRunDir") as string | undefined) ?? tmpdir();
  const workDir = await mkdtemp(path.join(runDir, "stack-"));
  const created: TestDatabase[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(created.map((db) => db.drop().catch(() => undefined)));
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const [database, stateDatabase] = await Promise.all([
      options.databaseUrl ? undefined : createTestDatabase(),
      createTestDatabase({ migrated: false }),
      buildOnce(options.apps),
    ]);
    if (database) created.push(database);
    created.push(stateDatabase);
    const running: RunningStack = await launchStack({
      apps: options.apps,
      workDir,
      databaseUrl: options.databaseUrl ?? database?.connectionString ?? "",
      stateDatabaseUrl: stateDatabase.connectionString,
      kafka: { heap: "256m" },
      ...(options.mtls === false ? { mtls: false as const } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.externalApps ? { externalApps: options.externalApps } : {}),
      ...(options.tokens ? { tokens: options.tokens } : {}),
      appLogLevel: options.appLogLevel ?? "info",
      daprdLogLevel: "info",
      waitForConsumers: options.waitForConsumers ?? true,
    });
    if (process.env.TASKMESH_STACK_TIMINGS === "1")
      console.log(`stack ${options.apps.join(",")} started: ${JSON.stringify(running.timings)}`);
    let stopped = false;
    return {
      apps: options.apps,
      urls: running.urls,
      sidecarUrls: running.sidecarUrls,
      opsUrls: running.opsUrls,
      daprUrls: running.daprUrls,
      appApiToken: running.appApiToken,
      daprApiToken: running.daprApiToken,
      appApiTokens: running.appApiTokens,
      daprApiTokens: running.daprApiTokens,
      kafkaBrokers: running.kafkaBrokers,
      databaseUrl: running.databaseUrl,
      stateDatabaseUrl: running.stateDatabaseUrl,
      timings: running.timings,
      kill: (app, part, signal) => running.kill(app, part, signal),
      restart: (app, part) => running.restart(app, part),
      restartBroker: () => running.restartBroker(),
      waitForConsumers: (timeoutMs) => running.waitForConsumers(timeoutMs),
      logs: (app) => running.logs(app),
      async stop() {
        if (stopped) return;
        stopped = true;
        await running.stop();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/**
 * startStack for a whole file: starts in beforeAll, stops in afterAll, and prints the last
 * log lines of every process when a test fails. Call at the top of a describe block; the
 * returned function gives the running stack inside tests.
 */
export function useStack(options: StartStackOptions): () => TestStack {
  let stack: TestStack | undefined;
  beforeAll(async () => {
    stack = await startStack(options);
  }, 180_000);
  afterEach((context) => {
    if (stack && context.task.result?.state === "fail") dumpLogs(stack, context.task.name);
  });
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);
  return () => {
    if (!stack) throw new Error("the stack is not running (did beforeAll fail?)");
    return stack;
  };
}

/** Prints the last lines of each process's output (for a failed test). */
export function dumpLogs(stack: TestStack, title: string, lines = 60): void {
  const sections = [...stack.apps, "kafka" as const, "sentry" as const].map((name) => {
    const text = stack.logs(name).split("\n").slice(-lines).join("\n");
    return `----- ${name} (last ${lines} lines) -----\n${text}`;
  });
  console.error(`===== stack logs after failed test "${title}" =====\n${sections.join("\n")}`);
}
