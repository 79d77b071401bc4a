/**
 * `npm start`: the whole taskmesh stack on this machine. Builds the services, then runs
 * PostgreSQL (embedded, data in .data/postgres, unless DATABASE_URL is set), Kafka (data in
 * .data/kafka, unless KAFKA_BROKERS is set), Dapr Sentry (CA in .data/sentry), and every
 * service in services/* with its own daprd loading dapr-components/. Logs are prefixed by
 * service (`[audit-log]`, and `[audit-log:dapr]` for its sidecar, warnings and errors only
 * unless --verbose); the ready line lists the URLs. Ctrl-C stops everything cleanly.
 *
 *   npm start                 # everything, default ports (task-api 3000, its daprd 3500, ...)
 *   npm start -- --verbose    # daprd and Sentry info logs too
 *
 * Environment: DATABASE_URL, TASKMESH_SECRET_STATE_DB_URL (state stores' database; default the
 * `taskmesh_dapr` database on the same server; both as roles that may CREATE ROLE: every app and
 * state store gets a login of its own, see scripts/stack/postgres.ts), KAFKA_BROKERS, PORT
 * (task-api), LOG_LEVEL, TASKMESH_KAFKA_PORT (default 9092); anything else is passed on to the
 * services.
 */
import path from "node:path";
import { applyMigrations } from "@taskmesh/db";
import { buildServices } from "./build.ts";
import {
  DEFAULT_APP_PORTS,
  OPS_PORT_OFFSET,
  SIDECAR_PORT_OFFSET,
  ensureDaprd,
  ensureKafka,
  ensureSentry,
  launchStack,
  listServices,
  type LogLine,
  type RunningStack,
} from "./stack/index.ts";
import { ensureDatabase, startLocalPostgres, type LocalDatabases } from "./stack/postgres.ts";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.join(root, ".data");
const verbose = process.argv.includes("--verbose") || process.env.TASKMESH_VERBOSE === "1";

const color = process.stdout.isTTY
  ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m`
  : (_: number, s: string) => s;
const LEVEL_COLORS: Record<string, number> = {
  error: 31,
  fatal: 31,
  warn: 33,
  warning: 33,
  info: 32,
  debug: 90,
  trace: 90,
};
const SOURCE_COLORS = [36, 35, 34, 32, 33, 96, 95, 94];

const line = (level: string, clock: string, msg: string, extras: string): string =>
  `${clock} ${color(LEVEL_COLORS[level] ?? 0, level.slice(0, 5).padEnd(5))} ${msg}${extras ? ` ${color(90, extras)}` : ""}`;

/** pino JSON -> "12:00:01 info  message key=value" (anything else passes through). */
function formatPino(text: string): string {
  try {
    const {
      time,
      level,
      msg,
      service: _s,
      pid: _p,
      hostname: _h,
      ...rest
    } = JSON.parse(text) as Record<string, unknown>;
    const extras = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return line(
      typeof level === "string" ? level : "info",
      typeof time === "string" ? time.slice(11, 19) : "",
      typeof msg === "string" ? msg : JSON.stringify(msg),
      extras,
    );
  } catch {
    return text;
  }
}

/** daprd/Sentry logfmt (`time="…" level=warning msg="…" …`) -> the same shape, or undefined. */
function parseDaprLine(text: string): { level: string; formatted: string } | undefined {
  const level = /\blevel=(\w+)/.exec(text)?.[1];
  if (!level) return undefined;
  const time = /\btime="[^"]*T(\d\d:\d\d:\d\d)/.exec(text)?.[1] ?? "";
  const msg = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(text)?.[1]?.replaceAll('\\"', '"') ?? text;
  return { level, formatted: line(level, time, msg, "") };
}

/**
 * daprd warnings that say nothing to a taskmesh user: no placement/scheduler (taskmesh uses
 * neither), the README in dapr-components/, the secret-scope note on apps without the store,
 * Sentry noticing the CA it has just generated.
 */
const EXPECTED_WARNINGS = [
  /placement service is not configured/,
  /No scheduler host addresses provided/,
  /A non-YAML .* file README\.md was detected/,
  /Secrets configuration added for 'taskmesh-secrets', but no matching secret store/,
  /Issuer credentials changed; reloading/,
];

function printer(): (l: LogLine) => void {
  const colors = new Map<string, number>();
  return (l) => {
    const base = l.source.replace(/:dapr$/, "");
    if (!colors.has(base)) colors.set(base, SOURCE_COLORS[colors.size % SOURCE_COLORS.length] ?? 36);
    const prefix = color(colors.get(base) ?? 36, `[${l.source}]`.padEnd(22));
    let text = l.text;
    if (l.source.endsWith(":dapr") || l.source === "sentry") {
      const parsed = parseDaprLine(text);
      // daprd runs at --log-level warn unless verbose; Sentry's info lines are start-up chatter.
      if (!verbose && parsed && !["warning", "error", "fatal"].includes(parsed.level)) return;
      if (!verbose && EXPECTED_WARNINGS.some((re) => re.test(text))) return;
      text = parsed?.formatted ?? text;
    } else if (text.startsWith("{")) {
      text = formatPino(text);
    }
    console.log(`${prefix} ${text}`);
  };
}

const state: {
  stopping: boolean;
  stoppingSince: number;
  stack?: RunningStack;
  postgres?: LocalDatabases;
} = { stopping: false, stoppingSince: 0 };

async function shutdown(code: number): Promise<never> {
  if (state.stopping) {
    // tsx and npm pass the terminal's Ctrl-C on once more right after the first one: a
    // signal within 2 s of the first is that echo; a later one is the user insisting.
    if (Date.now() - state.stoppingSince > 2000) process.exit(code || 130);
    return new Promise<never>(() => undefined);
  }
  state.stopping = true;
  state.stoppingSince = Date.now();
  console.log("stopping...");
  const force = setTimeout(() => {
    console.log("still stopping after 30 s: killing what is left");
    process.exit(code || 1);
  }, 30_000);
  force.unref();
  // Services and sidecars first, then the broker and Sentry (stack.stop), the database last.
  await state.stack?.stop().catch((error: unknown) => {
    console.error(String(error));
  });
  await state.postgres?.stop().catch((error: unknown) => {
    console.error(String(error));
  });
  console.log(`stopped in ${((Date.now() - state.stoppingSince) / 1000).toFixed(1)} s`);
  process.exit(code);
}

// Output to a terminal that has gone away must not crash the shutdown.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);
// A Ctrl-C while stopping (after the first 2 s) exits at once; the children die with this
// process anyway (scripts/stack/process.ts starts them with a parent-death signal).
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));
// The terminal went away: stop as cleanly as for Ctrl-C.
process.on("SIGHUP", () => void shutdown(0));

const started = performance.now();
const seconds = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const progress = (message: string): void => {
  // The provisioning scripts' "nothing to do" lines are noise on a warm machine.
  if (!/already installed|using cached build|pinned Dapr version/.test(message)) console.log(message);
};

try {
  const services = await listServices();
  const print = printer();
  console.log(`building ${services.join(", ")}...`);
  const externalDatabase = process.env.DATABASE_URL;
  const externalBrokers = process.env.KAFKA_BROKERS;

  // Build, provision (first run: daprd/Sentry builds, Kafka's jars) and PostgreSQL in parallel.
  const [, , , postgresUrl] = await Promise.all([
    buildServices(services),
    ensureDaprd(progress).then(() => ensureSentry(progress)),
    externalBrokers ? Promise.resolve("") : ensureKafka(progress),
    (async (): Promise<string> => {
      if (externalDatabase) return externalDatabase;
      state.postgres = await startLocalPostgres({
        dataDir: path.join(dataDir, "postgres"),
        port: Number(process.env.EMBEDDED_PG_PORT ?? 54329),
        onLine: print,
      });
      return state.postgres.databaseUrl;
    })(),
  ]);
  if (externalDatabase) {
    // The embedded database is migrated by its helper; a given one is migrated here.
    await applyMigrations({
      connectionString: externalDatabase,
      log: (m) => {
        console.log(`[postgres] ${m}`);
      },
    });
  }
  const stateDatabaseUrl =
    process.env.TASKMESH_SECRET_STATE_DB_URL ?? (await ensureDatabase(postgresUrl, "taskmesh_dapr"));
  console.log(
    `built and provisioned in ${seconds()}; starting Kafka, Sentry and ${services.length} services...`,
  );

  const publicUrl = process.env.PUBLIC_URL;
  const taskApiPort = Number(process.env.PORT ?? DEFAULT_APP_PORTS["task-api"]);
  const ports: Record<string, { app: number; sidecar: number; ops: number; daprHttp: number }> = {};
  let next = 3005;
  for (const name of services) {
    const app = name === "task-api" ? taskApiPort : (DEFAULT_APP_PORTS[name] ?? next++);
    ports[name] = {
      app,
      sidecar: app + SIDECAR_PORT_OFFSET,
      ops: app + OPS_PORT_OFFSET,
      daprHttp: 3500 + (app - 3000),
    };
  }
  // The services get the user's environment, minus what the launcher decides.
  const launcherOwned = new Set([
    "PORT",
    "APP_PORT",
    "OPS_PORT",
    "HOST",
    "DATABASE_URL",
    "DAPR_HTTP_PORT",
    "DAPR_GRPC_PORT",
    "DAPR_API_TOKEN",
    "APP_API_TOKEN",
    "KAFKA_BROKERS",
    "TASKMESH_VERBOSE",
  ]);
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !launcherOwned.has(e[0]) && !e[0].startsWith("TASKMESH_SECRET_"),
    ),
  );
  // Not the state database's owner: each daprd gets only its own store's login (launchStack).
  const secrets = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && e[0].startsWith("TASKMESH_SECRET_") && e[0] !== "TASKMESH_SECRET_STATE_DB_URL",
    ),
  );

  state.stack = await launchStack({
    apps: services,
    workDir: path.join(dataDir, "dapr"),
    databaseUrl: postgresUrl,
    stateDatabaseUrl,
    kafka: externalBrokers
      ? { brokers: externalBrokers }
      : {
          dataDir: path.join(dataDir, "kafka"),
          port: Number(process.env.TASKMESH_KAFKA_PORT ?? 9092),
          heap: "256m",
        },
    mtls: { credentialsDir: path.join(dataDir, "sentry") },
    ports,
    baseEnv,
    daprdEnv: secrets,
    env: Object.fromEntries(
      services.map((s) => {
        const env: Record<string, string> = {};
        // Sessions survive restarts: task-api keeps its generated auth secret in .data as before.
        if (s === "task-api") env.DATA_DIR = dataDir;
        if (publicUrl) env[s === "task-api" ? "PUBLIC_URL" : "AUTH_ISSUER"] = publicUrl;
        // On one machine webhook receivers are local servers: allow private targets unless told otherwise.
        if (s === "notifications")
          env.WEBHOOK_ALLOW_PRIVATE_TARGETS = process.env.WEBHOOK_ALLOW_PRIVATE_TARGETS ?? "true";
        return [s, env];
      }),
    ),
    tokens: "per-app",
    appLogLevel: process.env.LOG_LEVEL ?? "info",
    daprdLogLevel: verbose ? "info" : "warn",
    onLine: print,
    log: progress,
    onUnexpectedExit: (source, code, signal) => {
      console.log(`[${source}] exited unexpectedly (${signal ?? code}); stopping everything`);
      void shutdown(1);
    },
  });
} catch (error) {
  console.error(
    color(31, `taskmesh did not start: ${error instanceof Error ? error.message : String(error)}`),
  );
  await shutdown(1);
}

/** "kafka 2.1 s, sentry 0.3 s, apps 4.0 s, sidecars 6.2 s, consumers 1.5 s" from launchStack's timings. */
function phases(timings: Readonly<Record<string, number>>): string {
  const s = (ms: number | undefined): string => `${((ms ?? 0) / 1000).toFixed(1)} s`;
  const slowest = (prefix: string): number =>
    Math.max(0, ...Object.entries(timings).flatMap(([k, v]) => (k.startsWith(prefix) ? [v] : [])));
  return [
    ...(timings.kafka !== undefined ? [`Kafka ${s(timings.kafka)}`] : []),
    ...(timings.sentry !== undefined ? [`Sentry ${s(timings.sentry)}`] : []),
    `apps ${s(slowest("app:"))}`,
    `sidecars ${s(slowest("sidecar:"))}`,
    `consumer groups ${s(timings.consumers)}`,
  ].join(", ");
}

const stack = state.stack;
if (stack && !state.stopping) {
  const api = stack.urls["task-api"]?.replace("127.0.0.1", "localhost") ?? "http://localhost:3000";
  const rows = stack.apps.map(
    (name) =>
      `  ${name.padEnd(16)} ${(stack.urls[name] ?? "").replace("127.0.0.1", "localhost").padEnd(24)} app port ${new URL(stack.sidecarUrls[name] ?? "http://x").port}, ops ${(stack.opsUrls[name] ?? "").replace("127.0.0.1", "localhost")}, sidecar ${stack.daprUrls[name] ?? ""}`,
  );
  console.log(`
${color(1, `taskmesh is running`)} (ready in ${seconds()}: ${phases(stack.timings)})
${rows.join("\n")}
  Kafka            ${stack.kafkaBrokers}${process.env.KAFKA_BROKERS ? "" : "   (data in .data/kafka)"}
  Dapr Sentry      ${stack.sentryAddress ?? "off"}   (mTLS between sidecars)
  API reference    ${api}/docs   (OpenAPI: ${api}/openapi.json)

Try it:
  curl -s -X POST ${api}/api/auth/sign-up/email -H 'content-type: application/json' \\
    -d '{"email":"ada@example.com","password":"correct-horse-battery","name":"Ada"}' -D - | grep -i set-auth-token
  curl -s -X POST ${api}/v1/tasks -H "authorization: Bearer <set-auth-token>" -H 'content-type: application/json' \\
    -d '{"title":"Try taskmesh","dueAt":"2026-12-01","priority":"high","tags":["first"]}'

Ctrl-C stops everything.
`);
}
