import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { freePort } from "@taskmesh/core";
import { listServices, serviceBundle, startApp, waitAppReady } from "./apps.ts";
import { ensureDaprd, ensureKafka, ensureSentry, type ProgressLog } from "./binaries.ts";
import {
  consumerGroupOf,
  declaredTopics,
  expectedSubscriptions,
  writeStackConfiguration,
  type ExpectedSubscription,
} from "./components.ts";
import { startDaprd, waitSidecarReady, type SidecarPorts, type SidecarSpec } from "./daprd.ts";
import { createTopics, groupMembers, startKafka, waitForConsumerGroups, type RunningKafka } from "./kafka.ts";
import { provisionStackLogins, STATE_COMPONENTS, stateSecretName } from "./postgres.ts";
import { killAllNow, type LogLine, type ManagedProcess } from "./process.ts";
import { startSentry, type RunningSentry } from "./sentry.ts";

export type StackPart = "app" | "sidecar";

export interface LaunchStackOptions {
  /** Services to run (names of services/<name>/), each with its own daprd. */
  apps: readonly string[];
  /**
   * Apps the caller runs itself (already listening on `port`, e.g. a test's in-process
   * server): the stack starts only their sidecars, with these app ids. `port` is the app port
   * daprd calls: a taskmesh app's sidecar listener (createListenerServer(app, "sidecar")).
   */
  externalApps?: Readonly<Record<string, { port: number }>>;
  /** A directory of this stack's own: config copy, name-resolution db, app data, and the broker and CA unless placed elsewhere. */
  workDir: string;
  /**
   * Migrated application database, as its owner (the migration role). Each app gets a login
   * role of its own instead (provisionStackLogins): its DATABASE_URL names that role.
   */
  databaseUrl: string;
  /**
   * An existing database for the Dapr state stores, as a role that may create roles: each state
   * store gets a login and a schema of its own there (TASKMESH_SECRET_<APP>_STATE_DB_URL of its daprd).
   */
  stateDatabaseUrl: string;
  /**
   * `{ brokers }`: use that Kafka-protocol broker (topics are still created if missing).
   * Otherwise one Kafka is started (data in `dataDir`, default <workDir>/kafka; port default free).
   */
  kafka?: { brokers: string } | { dataDir?: string; port?: number; controllerPort?: number; heap?: string };
  /** Partitions of the topics created before the apps start. Default 6. */
  partitions?: number;
  /**
   * Dapr Sentry for mTLS between sidecars (needed by configuration.yaml's accessControl:
   * without identities every invocation is denied). Default on, CA in <workDir>/sentry.
   */
  mtls?: false | { credentialsDir?: string; port?: number };
  /**
   * Fixed ports per app (npm start): `app` the public listener, `sidecar` the Dapr app port,
   * `ops` probes and /metrics; anything not given is a free port.
   */
  ports?: Readonly<
    Record<string, { app?: number; sidecar?: number; ops?: number; daprHttp?: number } | undefined>
  >;
  /** Environment every app starts from (default: PATH, HOME, TMPDIR, LANG, TZ of this process). */
  baseEnv?: Readonly<Record<string, string>>;
  /**
   * Extra environment per app, applied last. Values may name other apps' addresses:
   * `{url:task-api}`, `{port:task-api}`, `{dapr-port:task-api}` (public URL and port, daprd's HTTP port).
   */
  env?: Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;
  /** Extra environment of every daprd (e.g. more TASKMESH_SECRET_* for the secret store). */
  daprdEnv?: Readonly<Record<string, string>>;
  /**
   * The Dapr resources every sidecar loads instead of dapr-components/ (a variant such as a
   * benchmark's bulk subscription). Same topics and subscriptions, or readiness waits for the wrong ones.
   */
  resourcesPath?: string;
  appLogLevel?: string;
  daprdLogLevel?: string;
  /**
   * "shared" (default): one APP_API_TOKEN and one DAPR_API_TOKEN for every app and sidecar.
   * "per-app": each app and its sidecar get their own pair, so no app knows another's: an app
   * cannot call another app's sidecar-only routes directly, nor use another app's sidecar
   * (and so its identity).
   */
  tokens?: "shared" | "per-app";
  /** The shared tokens; generated (random) when not given. */
  appApiToken?: string;
  daprApiToken?: string;
  /** Every output line of every process. */
  onLine?: (line: LogLine) => void;
  /** Called when a process exits that the stack did not stop (a crash). */
  onUnexpectedExit?: (source: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Progress messages (provisioning, phases). */
  log?: ProgressLog;
  /** Per readiness wait. Default 90 s. */
  timeoutMs?: number;
  /** Wait until every subscribing sidecar's consumer group is Stable before returning. Default true. */
  waitForConsumers?: boolean;
}

export interface RunningStack {
  apps: readonly string[];
  /** The apps whose sidecar the stack runs for an app the caller runs. */
  externalApps: readonly string[];
  /** App base URLs of the public listeners, "http://127.0.0.1:<port>". */
  urls: Readonly<Record<string, string>>;
  /** The sidecar listeners (Dapr app ports, what daprd calls); external apps: their given port. */
  sidecarUrls: Readonly<Record<string, string>>;
  /** The operations listeners: /healthz, /readyz, /metrics (not for external apps). */
  opsUrls: Readonly<Record<string, string>>;
  /** Each app's daprd HTTP API. */
  daprUrls: Readonly<Record<string, string>>;
  /** The shared tokens ("" with tokens: "per-app"; then see appApiTokens / daprApiTokens). */
  appApiToken: string;
  daprApiToken: string;
  /** What each sidecar sends to its app (dapr-api-token). */
  appApiTokens: Readonly<Record<string, string>>;
  /** What each app sends to its sidecar (dapr-api-token). */
  daprApiTokens: Readonly<Record<string, string>>;
  kafkaBrokers: string;
  databaseUrl: string;
  stateDatabaseUrl: string;
  /** Each app's own DATABASE_URL (its login role; see provisionStackLogins). */
  databaseUrls: Readonly<Record<string, string>>;
  /** "127.0.0.1:<port>" of Sentry, when mTLS is on. */
  sentryAddress: string | undefined;
  /** Milliseconds spent in each start-up phase. */
  timings: Readonly<Record<string, number>>;
  /** Signals one process (default SIGKILL) and waits until it has exited. */
  kill(app: string, part: StackPart, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped or killed process again (same ports) and waits until it is ready. */
  restart(app: string, part: StackPart): Promise<void>;
  /** Stops the stack's own broker (controlled shutdown) and starts it again on the same data. */
  restartBroker(): Promise<void>;
  /**
   * Waits until every subscribing sidecar's consumer group is Stable with all partitions
   * assigned and without members of sidecars killed or restarted since (evicted only when
   * their session times out).
   */
  waitForConsumers(timeoutMs?: number): Promise<void>;
  /** Captured output: of one app (app and sidecar interleaved), of "kafka"/"sentry", or of everything. */
  logs(name?: string): string;
  /** Every process the stack runs now. */
  processes(): ManagedProcess[];
  /** Stops everything (apps and sidecars, then broker and Sentry); idempotent. */
  stop(): Promise<void>;
}

const token = (): string => randomBytes(24).toString("base64url");

function substitute(value: string, lookups: Record<string, Record<string, string>>): string {
  return value.replace(/\{(url|port|dapr-port):([a-z0-9-]+)\}/g, (whole, kind: string, app: string) => {
    const found = lookups[kind]?.[app];
    if (found === undefined) throw new Error(`env placeholder ${whole}: ${app} is not part of this stack`);
    return found;
  });
}

function defaultBaseEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG", "TZ"];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])));
}

/**
 * Runs a taskmesh stack on this machine: a Kafka broker (or the given one) with the topics,
 * Dapr Sentry, and for each app `node services/<app>/dist/main.js` plus its own daprd that
 * loads dapr-components/. Resolves when every app answers /readyz, every sidecar is healthy
 * and subscribed, and (by default) every consumer group is Stable. Build the services first
 * (`npm run build`). On failure everything started is stopped and the error carries the
 * last log lines of what did not come up.
 */
export async function launchStack(options: LaunchStackOptions): Promise<RunningStack> {
  const log = options.log ?? ((): void => undefined);
  const timeoutMs = options.timeoutMs ?? 90_000;
  const timings: Record<string, number> = {};
  const t0 = performance.now();
  const mark = (phase: string, since: number): void => {
    timings[phase] = Math.round(performance.now() - since);
  };

  const known = await listServices();
  for (const app of options.apps) {
    if (!known.includes(app))
      throw new Error(`no service "${app}" (services/${app}/src/main.ts); available: ${known.join(", ")}`);
    if (!existsSync(serviceBundle(app)))
      throw new Error(`services/${app}/dist/main.js is missing: run \`npm run build\` first`);
  }

  const external = Object.keys(options.externalApps ?? {});
  const dup = external.find((app) => options.apps.includes(app));
  if (dup) throw new Error(`${dup} is both a service to run and an external app`);
  const allApps = [...options.apps, ...external];

  await mkdir(options.workDir, { recursive: true });
  const perApp = options.tokens === "per-app";
  const appApiToken = perApp ? "" : (options.appApiToken ?? token());
  const daprApiToken = perApp ? "" : (options.daprApiToken ?? token());
  const appApiTokens = Object.fromEntries(allApps.map((a) => [a, perApp ? token() : appApiToken]));
  const daprApiTokens = Object.fromEntries(allApps.map((a) => [a, perApp ? token() : daprApiToken]));

  // Everything this stack runs, for stop() and the exit hook.
  const running = new Map<string, ManagedProcess>();
  const stopping = { value: false };
  const expectedExit = new Set<ManagedProcess>();
  let kafka: RunningKafka | undefined;
  let sentry: RunningSentry | undefined;
  const exitHook = (): void => {
    killAllNow(running.values());
    if (kafka) killAllNow([kafka.process()]);
    if (sentry) killAllNow([sentry.process]);
  };
  process.on("exit", exitHook);

  const onLine = options.onLine;
  const watch = (proc: ManagedProcess): ManagedProcess => {
    void proc.exited.then(({ code, signal }) => {
      if (!stopping.value && !expectedExit.has(proc)) options.onUnexpectedExit?.(proc.source, code, signal);
    });
    return proc;
  };

  const stopAll = async (): Promise<void> => {
    stopping.value = true;
    await Promise.all([...running.values()].map((p) => p.stop(10_000)));
    await Promise.all([kafka?.stop(), sentry?.stop()]);
    process.off("exit", exitHook);
  };

  const allLogs = (name?: string): string => {
    const procs = [
      ...running.values(),
      ...(kafka ? [kafka.process()] : []),
      ...(sentry ? [sentry.process] : []),
    ];
    const lines = procs
      .filter((p) => name === undefined || p.source === name || p.source === `${name}:dapr`)
      .flatMap((p) => p.lines());
    return lines
      .sort((a, b) => a.at - b.at)
      .map((l) => `[${l.source}] ${l.text}`)
      .join("\n");
  };

  try {
    // --- ports -------------------------------------------------------------------------
    const appPorts: Record<string, number> = {};
    const appSidecarPorts: Record<string, number> = {};
    const opsPorts: Record<string, number> = {};
    const sidecarPorts: Record<string, SidecarPorts> = {};
    for (const app of allApps) {
      const fixed = options.ports?.[app];
      const externalPort = options.externalApps?.[app]?.port;
      appPorts[app] = externalPort ?? fixed?.app ?? (await freePort());
      appSidecarPorts[app] = externalPort ?? fixed?.sidecar ?? (await freePort());
      opsPorts[app] = externalPort ?? fixed?.ops ?? (await freePort());
      sidecarPorts[app] = {
        http: fixed?.daprHttp ?? (await freePort()),
        grpc: await freePort(),
        internalGrpc: await freePort(),
        metrics: await freePort(),
      };
    }
    const urls = Object.fromEntries(allApps.map((a) => [a, `http://127.0.0.1:${appPorts[a]}`]));
    const sidecarUrls = Object.fromEntries(allApps.map((a) => [a, `http://127.0.0.1:${appSidecarPorts[a]}`]));
    const opsUrls = Object.fromEntries(allApps.map((a) => [a, `http://127.0.0.1:${opsPorts[a]}`]));
    const daprUrls = Object.fromEntries(allApps.map((a) => [a, `http://127.0.0.1:${sidecarPorts[a]?.http}`]));

    // --- binaries, broker, CA, configuration (in parallel) ---------------------------------
    const tProvision = performance.now();
    const configFile = path.join(options.workDir, "dapr-configuration.yaml");
    const kafkaOption = options.kafka ?? {};
    const startOwnKafka = !("brokers" in kafkaOption);
    // daprd and Sentry share build.sh's lock: one after the other.
    const [[daprd, sentryBinary]] = await Promise.all([
      ensureDaprd(log).then(async (d) => [d, options.mtls === false ? "" : await ensureSentry(log)] as const),
      startOwnKafka ? ensureKafka(log) : Promise.resolve(""),
      writeStackConfiguration(configFile, path.join(options.workDir, "dapr-nameresolution.db")),
    ]);
    mark("provision", tProvision);

    const tInfra = performance.now();
    const kafkaReady = (async (): Promise<string> => {
      if ("brokers" in kafkaOption) return kafkaOption.brokers;
      const port = kafkaOption.port ?? (await freePort());
      kafka = await startKafka({
        dataDir: kafkaOption.dataDir ?? path.join(options.workDir, "kafka"),
        port,
        controllerPort: kafkaOption.controllerPort ?? (await freePort()),
        heap: kafkaOption.heap ?? "256m",
        partitions: options.partitions ?? 6,
        ...(onLine ? { onLine } : {}),
        timeoutMs,
      });
      watch(kafka.process());
      return kafka.brokers;
    })().then(async (brokers) => {
      await createTopics(brokers, await declaredTopics(), options.partitions ?? 6);
      mark("kafka", tInfra);
      return brokers;
    });
    const sentryReady = (async (): Promise<RunningSentry | undefined> => {
      if (options.mtls === false) return undefined;
      sentry = await startSentry({
        binary: sentryBinary,
        credentialsDir: options.mtls?.credentialsDir ?? path.join(options.workDir, "sentry"),
        workDir: options.workDir,
        port: options.mtls?.port ?? (await freePort()),
        healthzPort: await freePort(),
        ...(onLine ? { onLine } : {}),
        timeoutMs,
      });
      watch(sentry.process);
      mark("sentry", tInfra);
      return sentry;
    })();

    // --- apps (they need only the database to start) -------------------------------------
    const taskApiUrl = `http://localhost:${appPorts["task-api"] ?? 3000}`;
    const lookups = {
      url: urls,
      port: Object.fromEntries(Object.entries(appPorts).map(([a, p]) => [a, String(p)])),
      "dapr-port": Object.fromEntries(Object.entries(sidecarPorts).map(([a, p]) => [a, String(p.http)])),
    };
    const appEnv = (app: string): Record<string, string> => {
      const extra = Object.fromEntries(
        Object.entries(options.env?.[app] ?? {}).map(([k, v]) => [k, substitute(v, lookups)]),
      );
      return {
        ...(options.baseEnv ?? defaultBaseEnv()),
        HOST: "127.0.0.1",
        LOG_LEVEL: options.appLogLevel ?? "info",
        // The app's own login role; the stack's caller migrated the database (as its owner).
        ...(logins.databaseUrls[app] ? { DATABASE_URL: logins.databaseUrls[app] } : {}),
        DAPR_HTTP_PORT: String(sidecarPorts[app]?.http),
        DAPR_GRPC_PORT: String(sidecarPorts[app]?.grpc),
        APP_API_TOKEN: appApiTokens[app] ?? "",
        DAPR_API_TOKEN: daprApiTokens[app] ?? "",
        DATA_DIR: path.join(options.workDir, "apps", app),
        // task-api issues the access tokens; the others verify them against this issuer.
        ...(app === "task-api" ? { PUBLIC_URL: taskApiUrl } : { AUTH_ISSUER: taskApiUrl }),
        ...extra,
      };
    };
    const launchApp = (app: string): ManagedProcess => {
      const proc = watch(
        startApp({
          name: app,
          port: appPorts[app] ?? 0,
          sidecarPort: appSidecarPorts[app] ?? 0,
          opsPort: opsPorts[app] ?? 0,
          env: appEnv(app),
          ...(onLine ? { onLine } : {}),
        }),
      );
      running.set(app, proc);
      return proc;
    };
    const logins = await provisionStackLogins({
      databaseUrl: options.databaseUrl,
      stateDatabaseUrl: options.stateDatabaseUrl,
      apps: allApps,
      log,
    });
    const tApps = performance.now();
    for (const app of options.apps) launchApp(app);
    const diedMessage = (proc: ManagedProcess | undefined) => (): string | undefined =>
      proc && !proc.isRunning() ? `${proc.source} exited` : undefined;
    const appReady = (app: string): Promise<void> =>
      waitAppReady({ url: opsUrls[app] ?? "", timeoutMs, abortIf: diedMessage(running.get(app)) });
    const withLogs = async (what: string, sources: string[], work: Promise<void>): Promise<void> => {
      try {
        await work;
      } catch (error) {
        const tails = sources
          .map((s) => running.get(s))
          .filter((p): p is ManagedProcess => p !== undefined)
          .map((p) => `--- last lines of ${p.source} ---\n${p.tail(25)}`)
          .join("\n");
        throw new Error(`${what}: ${(error as Error).message}\n${tails}`, { cause: error });
      }
    };
    // Apps become ready while the broker and Sentry start (a failure is reported below).
    const appsReady = options.apps.map((app) =>
      withLogs(`${app} not ready`, [app], appReady(app)).then(() => {
        mark(`app:${app}`, tApps);
      }),
    );
    for (const p of appsReady) p.catch(() => undefined);

    // --- sidecars (they need the broker and the CA) ----------------------------------------
    // allSettled: a failure of one must not leave the other starting after stopAll().
    const [kafkaResult, sentryResult] = await Promise.allSettled([kafkaReady, sentryReady]);
    if (kafkaResult.status === "rejected") throw kafkaResult.reason;
    if (sentryResult.status === "rejected") throw sentryResult.reason;
    const brokers = kafkaResult.value;
    const ca = sentryResult.value;
    const subscriptions: Record<string, ExpectedSubscription[]> = {};
    for (const app of allApps) subscriptions[app] = await expectedSubscriptions(app);
    const sidecarSpec = (app: string): SidecarSpec => ({
      binary: daprd,
      appId: app,
      appPort: appSidecarPorts[app] ?? 0,
      ports: sidecarPorts[app] ?? { http: 0, grpc: 0, internalGrpc: 0, metrics: 0 },
      configFile,
      ...(options.resourcesPath ? { resourcesPath: options.resourcesPath } : {}),
      logLevel: options.daprdLogLevel ?? "info",
      ...(ca ? { mtls: { sentryAddress: ca.address, trustAnchors: ca.trustAnchors } } : {}),
      env: {
        KAFKA_BROKERS: brokers,
        APP_API_TOKEN: appApiTokens[app] ?? "",
        DAPR_API_TOKEN: daprApiTokens[app] ?? "",
        // Only this app's own state store's credential.
        ...(logins.stateDatabaseUrls[app] && STATE_COMPONENTS[app]
          ? { [`TASKMESH_SECRET_${stateSecretName(STATE_COMPONENTS[app])}`]: logins.stateDatabaseUrls[app] }
          : {}),
        ...options.daprdEnv,
      },
      ...(onLine ? { onLine } : {}),
    });
    const launchSidecar = (app: string): ManagedProcess => {
      const proc = watch(startDaprd(sidecarSpec(app)));
      running.set(`${app}:dapr`, proc);
      return proc;
    };
    const tSidecars = performance.now();
    for (const app of allApps) launchSidecar(app);
    const sidecarReady = (app: string): Promise<void> =>
      waitSidecarReady({
        url: daprUrls[app] ?? "",
        apiToken: daprApiTokens[app] ?? "",
        subscriptions: subscriptions[app] ?? [],
        timeoutMs,
        abortIf: diedMessage(running.get(`${app}:dapr`)),
      });

    await Promise.all([
      ...appsReady,
      ...allApps.map((app) =>
        withLogs(`${app}'s sidecar not ready`, [`${app}:dapr`, app], sidecarReady(app)).then(() => {
          mark(`sidecar:${app}`, tSidecars);
        }),
      ),
    ]);

    // Consumer-group members of sidecars that were killed or restarted: until the coordinator
    // evicts them (session timeout) the group looks Stable but their partitions are not consumed.
    const staleMembers = new Map<string, Set<string>>();
    const markMembersStale = async (app: string): Promise<void> => {
      if ((subscriptions[app] ?? []).length === 0) return;
      const group = await consumerGroupOf(app);
      const members =
        (await groupMembers(brokers, [group]).catch(() => new Map<string, string[]>())).get(group) ?? [];
      const set = staleMembers.get(group) ?? new Set<string>();
      for (const m of members) set.add(m);
      staleMembers.set(group, set);
    };
    const consumers = async (waitMs = timeoutMs): Promise<void> => {
      const expectations = await Promise.all(
        allApps
          .filter((app) => (subscriptions[app] ?? []).length > 0)
          .map(async (app) => {
            const group = await consumerGroupOf(app);
            return {
              group,
              topics: (subscriptions[app] ?? []).map((s) => s.topic),
              staleMembers: [...(staleMembers.get(group) ?? [])],
            };
          }),
      );
      await waitForConsumerGroups(brokers, expectations, waitMs);
      staleMembers.clear();
    };
    if (options.waitForConsumers !== false) {
      const tConsumers = performance.now();
      await withLogs(
        "consumer groups",
        allApps.map((a) => `${a}:dapr`),
        consumers(),
      );
      mark("consumers", tConsumers);
    }
    mark("total", t0);

    const partOf = (app: string, part: StackPart): string => {
      if (!allApps.includes(app)) throw new Error(`${app} is not part of this stack`);
      if (part === "app" && external.includes(app)) throw new Error(`${app}'s app is not run by this stack`);
      return part === "app" ? app : `${app}:dapr`;
    };

    return {
      apps: options.apps,
      externalApps: external,
      urls,
      sidecarUrls,
      opsUrls,
      daprUrls,
      appApiToken,
      daprApiToken,
      appApiTokens,
      daprApiTokens,
      kafkaBrokers: brokers,
      databaseUrl: options.databaseUrl,
      stateDatabaseUrl: options.stateDatabaseUrl,
      databaseUrls: logins.databaseUrls,
      sentryAddress: ca?.address,
      timings,
      async kill(app, part, signal = "SIGKILL") {
        const proc = running.get(partOf(app, part));
        if (!proc?.isRunning()) return;
        if (part === "sidecar") await markMembersStale(app);
        expectedExit.add(proc);
        proc.signal(signal);
        await proc.exited;
      },
      async restart(app, part) {
        const key = partOf(app, part);
        const old = running.get(key);
        if (old?.isRunning()) {
          if (part === "sidecar") await markMembersStale(app);
          expectedExit.add(old);
          await old.stop(10_000);
        }
        if (part === "app") {
          launchApp(app);
          await withLogs(`${app} not ready after restart`, [app], appReady(app));
        } else {
          launchSidecar(app);
          await withLogs(`${app}'s sidecar not ready after restart`, [key, app], sidecarReady(app));
        }
      },
      async restartBroker() {
        if (!kafka)
          throw new Error("this stack uses an external broker (kafka.brokers); it cannot restart it");
        expectedExit.add(kafka.process());
        await kafka.restart();
        watch(kafka.process());
      },
      waitForConsumers: (waitMs) => consumers(waitMs),
      logs: allLogs,
      processes: () => [
        ...running.values(),
        ...(kafka ? [kafka.process()] : []),
        ...(sentry ? [sentry.process] : []),
      ],
      stop: async () => {
        if (stopping.value) return;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
