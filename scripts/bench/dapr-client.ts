/**
 * npm run bench:dapr — what one call to the sidecar costs through each client, in the same run
 * against the same daprd: the hand-written fetch client packages/dapr had before @dapr/dapr
 * (a copy of its calls below, the baseline), the SDK's DaprClient over HTTP, the same over gRPC,
 * and the port as services use it now (createSidecarClient).
 *
 *  1. PostgreSQL (embedded, temporary) for a state.postgresql v2 store, a Kafka broker with one
 *     topic, a small node:http app to invoke, and one daprd with the project's configuration and
 *     pubsub.kafka settings (dapr-components/, without the per-app scopes), APP_API_TOKEN and
 *     DAPR_API_TOKEN set as in production.
 *  2. Per operation (publish one CloudEvent with a partition key, bulk publish of 100, invoke
 *     GET on the app, state get, state save) and per concurrency (BENCH_CONCURRENCY, default
 *     "1,16"): a closed loop of BENCH_SECONDS per client, the clients interleaved over
 *     BENCH_ROUNDS rounds so they see the same machine noise.
 *  3. Calls/s, p50/p99 and CPU ms per call of this process (the client) and of daprd, side by
 *     side with the baseline as ratios; what importing @dapr/dapr costs a process (time, RSS);
 *     bench-results/dapr-client-<time>.json (or --out <file>).
 *
 * Smoke mode (--smoke or BENCH_SMOKE=1, scripts/bench/options.ts): one round of 0.3 s per
 * scenario at concurrency 4: proves the benchmark runs end to end; the figures mean nothing.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from "@dapr/dapr";
import { CLOUDEVENT_CONTENT_TYPE, PARTITION_KEY_METADATA, type CloudEvent } from "@taskmesh/contracts";
import { freePort } from "@taskmesh/core";
import { createSidecarClient, type SidecarClient } from "@taskmesh/dapr";
import { parseAllDocuments, stringify } from "yaml";
import {
  COMPONENTS_DIR,
  createTopics,
  ensureDaprd,
  ensureKafka,
  startDaprd,
  startKafka,
  startProcess,
  waitSidecarReady,
  waitUntil,
  writeStackConfiguration,
} from "../stack/index.ts";
import {
  CORES,
  createCleanups,
  REPO_ROOT,
  runBenchmark,
  startBenchPostgres,
  warnIfLoaded,
} from "./harness.ts";
import { announceSmoke, knob, outputFile, SMOKE } from "./options.ts";
import { cpuSeconds } from "./process-stats.ts";
import { fmt, percentile, ratio, round2, row, step, writeResultFile } from "./report.ts";

const SECONDS = knob("BENCH_SECONDS", 3, 0.3);
const ROUNDS = knob("BENCH_ROUNDS", 2, 1);
const BULK = knob("BENCH_BULK", 100, 100);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? (SMOKE ? "4" : "1,16"))
  .split(",")
  .map((c) => Number(c.trim()))
  .filter((c) => Number.isInteger(c) && c > 0);
const PUBSUB = "taskmesh-pubsub";
const STORE = "bench-state";
const TOPIC = "bench-events";
const APP_ID = "bench-app";
const cleanups = createCleanups();

/** One way of making each call; every function throws on a failure. */
interface Client {
  name: string;
  publish(event: CloudEvent<unknown>, partitionKey: string): Promise<void>;
  bulkPublish(
    entries: { entryId: string; event: CloudEvent<unknown>; partitionKey: string }[],
  ): Promise<void>;
  invoke(): Promise<void>;
  getState(key: string): Promise<void>;
  saveState(key: string, value: unknown): Promise<void>;
}

/**
 * The baseline: the calls of the hand-written fetch client packages/dapr had before it moved to
 * @dapr/dapr (git history: packages/dapr/src/sidecar-client.ts), reduced to what is measured.
 */
function fetchClient(baseUrl: string, apiToken: string): Client {
  const token = { "dapr-api-token": apiToken };
  const call = (
    url: string,
    init: Omit<RequestInit, "headers"> & { headers?: Record<string, string> },
  ): Promise<Response> =>
    fetch(`${baseUrl}${url}`, {
      ...init,
      headers: { ...token, ...init.headers },
      signal: AbortSignal.timeout(10_000),
    });
  const ok = async (response: Response, what: string): Promise<void> => {
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
  };
  const segment = encodeURIComponent;
  return {
    name: "before: fetch client",
    async publish(event, partitionKey) {
      const query = `?metadata.${PARTITION_KEY_METADATA}=${segment(partitionKey)}`;
      const response = await call(`/v1.0/publish/${PUBSUB}/${TOPIC}${query}`, {
        method: "POST",
        headers: { "content-type": CLOUDEVENT_CONTENT_TYPE },
        body: JSON.stringify(event),
      });
      await ok(response, "publish");
    },
    async bulkPublish(entries) {
      const response = await call(`/v1.0-alpha1/publish/bulk/${PUBSUB}/${TOPIC}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          entries.map((entry) => ({
            entryId: entry.entryId,
            event: entry.event,
            contentType: CLOUDEVENT_CONTENT_TYPE,
            metadata: { [PARTITION_KEY_METADATA]: entry.partitionKey },
          })),
        ),
      });
      await ok(response, "bulk publish");
    },
    async invoke() {
      const response = await call(`/v1.0/invoke/${APP_ID}/method/v1/echo`, { method: "GET" });
      if (!response.ok) throw new Error(`invoke: HTTP ${response.status}`);
      await response.text();
    },
    async getState(key) {
      const response = await call(`/v1.0/state/${STORE}/${segment(key)}`, { method: "GET" });
      if (!response.ok) throw new Error(`get state: HTTP ${response.status}`);
      JSON.parse(await response.text());
      response.headers.get("etag");
    },
    async saveState(key, value) {
      const response = await call(`/v1.0/state/${STORE}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify([{ key, value }]),
      });
      await ok(response, "save state");
    },
  };
}

const ignore = (): void => undefined;
const silentSdkLogger = {
  level: LogLevel.Error,
  service: { error: ignore, warn: ignore, info: ignore, verbose: ignore, debug: ignore },
};

/** The SDK's DaprClient, each call as its own API makes it (no wrapper of ours). */
async function sdkClient(protocol: "http" | "grpc", port: number, apiToken: string): Promise<Client> {
  const client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(port),
    communicationProtocol:
      protocol === "http" ? CommunicationProtocolEnum.HTTP : CommunicationProtocolEnum.GRPC,
    daprApiToken: apiToken,
    logger: silentSdkLogger,
  });
  await client.start();
  cleanups.add(() => client.stop());
  return {
    name: `SDK ${protocol === "http" ? "HTTP" : "gRPC"}`,
    async publish(event, partitionKey) {
      // HTTP answers a failure as { error }; gRPC throws it.
      const result = await client.pubsub.publish(PUBSUB, TOPIC, event, {
        contentType: CLOUDEVENT_CONTENT_TYPE,
        metadata: { [PARTITION_KEY_METADATA]: partitionKey },
      });
      if (result.error) throw result.error;
    },
    async bulkPublish(entries) {
      const result = await client.pubsub.publishBulk(
        PUBSUB,
        TOPIC,
        entries.map((entry) => ({
          entryID: entry.entryId,
          event: entry.event,
          contentType: CLOUDEVENT_CONTENT_TYPE,
          metadata: { [PARTITION_KEY_METADATA]: entry.partitionKey },
        })),
      );
      if (result.failedMessages.length > 0) throw new Error(String(result.failedMessages[0]?.error));
    },
    async invoke() {
      await client.invoker.invoke(APP_ID, "v1/echo", HttpMethod.GET);
    },
    async getState(key) {
      await client.state.get(STORE, key);
    },
    async saveState(key, value) {
      const result = await client.state.save(STORE, [{ key, value }]);
      if (result.error) throw result.error;
    },
  };
}

/** The port as services call it (createSidecarClient of @taskmesh/dapr). */
function portClient(sidecar: SidecarClient): Client {
  return {
    name: "now: the port",
    async publish(event, partitionKey) {
      await sidecar.publish(PUBSUB, TOPIC, event, { partitionKey });
    },
    async bulkPublish(entries) {
      const failed = await sidecar.bulkPublish(PUBSUB, TOPIC, entries);
      if (failed.length > 0) throw new Error(failed[0]?.error);
    },
    async invoke() {
      const response = await sidecar.invoke(APP_ID, "v1/echo");
      if (!response.ok) throw new Error(`invoke: HTTP ${response.status}`);
      await response.text();
    },
    async getState(key) {
      await sidecar.getState(STORE, key);
    },
    async saveState(key, value) {
      await sidecar.saveState(STORE, [{ key, value }]);
    },
  };
}

/** The app daprd invokes: node:http answering a small JSON document, nothing else. */
const TARGET_APP = `
import http from "node:http";
const body = JSON.stringify({ id: "00000000-0000-4000-8000-000000000000", title: "echo", done: false });
http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { "content-type": "application/json" }).end(req.url === "/healthz" ? "{}" : body);
}).listen(Number(process.env.PORT), "127.0.0.1");
`;

/** The production pubsub.kafka settings without the per-app scoping (one bench app id). */
async function benchResources(dir: string, stateDbUrl: string): Promise<void> {
  const pubsubText = await readFile(path.join(COMPONENTS_DIR, "pubsub.yaml"), "utf8");
  const [pubsub] = parseAllDocuments(pubsubText).map(
    (d) => d.toJS() as { spec: { metadata: { name: string }[] }; scopes?: string[] },
  );
  if (!pubsub) throw new Error("dapr-components/pubsub.yaml has no component");
  const scoping = new Set(["allowedTopics", "publishingScopes", "subscriptionScopes"]);
  pubsub.spec.metadata = pubsub.spec.metadata.filter((m) => !scoping.has(m.name));
  delete pubsub.scopes;
  await writeFile(path.join(dir, "pubsub.yaml"), stringify(pubsub));
  await writeFile(
    path.join(dir, "statestore.yaml"),
    stringify({
      apiVersion: "dapr.io/v1alpha1",
      kind: "Component",
      metadata: { name: STORE },
      spec: {
        type: "state.postgresql",
        version: "v2",
        metadata: [
          { name: "connectionString", value: stateDbUrl },
          { name: "tablePrefix", value: "bench_" },
        ],
      },
    }),
  );
}

/** What importing @dapr/dapr costs a fresh process: milliseconds and RSS added (median of 3). */
async function importCost(): Promise<{ ms: number; rssMiB: number; baselineRssMiB: number }> {
  const script = `
const rss = () => process.memoryUsage().rss / 1048576;
await import("express"); await import("zod");
const before = rss(); const t0 = performance.now();
await import("@dapr/dapr");
console.log(JSON.stringify({ ms: performance.now() - t0, rssMiB: rss() - before, baselineRssMiB: before }));`;
  const runs: { ms: number; rssMiB: number; baselineRssMiB: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
        cwd: path.join(REPO_ROOT, "packages/dapr"),
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
      child.once("error", reject);
      child.once("exit", (code) => {
        if (code === 0) resolve(text);
        else reject(new Error(`import probe exited ${code}`));
      });
    });
    runs.push(JSON.parse(out) as { ms: number; rssMiB: number; baselineRssMiB: number });
  }
  const median = (pick: (r: (typeof runs)[number]) => number): number =>
    round2(runs.map(pick).sort((a, b) => a - b)[1] ?? Number.NaN);
  return {
    ms: median((r) => r.ms),
    rssMiB: median((r) => r.rssMiB),
    baselineRssMiB: median((r) => r.baselineRssMiB),
  };
}

type Operation = "publish" | "bulk publish" | "invoke" | "state get" | "state save";
const ALL_OPERATIONS: readonly Operation[] = ["publish", "bulk publish", "invoke", "state get", "state save"];
/** BENCH_OPERATIONS: a comma-separated subset (default all). */
const OPERATIONS = ALL_OPERATIONS.filter(
  (o) =>
    !process.env.BENCH_OPERATIONS ||
    process.env.BENCH_OPERATIONS.split(",")
      .map((n) => n.trim())
      .includes(o),
);

interface Run {
  calls: number;
  errors: number;
  seconds: number;
  latencies: number[];
  clientCpuMs: number;
  daprdCpuMs: number;
}

interface Summary {
  calls: number;
  errors: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  clientCpuMsPerCall: number;
  daprdCpuMsPerCall: number;
}

function eventFor(i: number): { event: CloudEvent<unknown>; partitionKey: string } {
  const taskId = randomUUID();
  return {
    partitionKey: taskId,
    event: {
      specversion: "1.0",
      id: randomUUID(),
      source: "taskmesh/bench",
      type: "taskmesh.task.updated.v1",
      datacontenttype: "application/json",
      time: new Date().toISOString(),
      data: { taskId, sequence: i, title: "benchmark task", priority: "normal" },
    },
  };
}

/** The call one operation makes with one client (fresh ids each time; state keys from a set). */
function operationCall(client: Client, operation: Operation): () => Promise<void> {
  let i = 0;
  switch (operation) {
    case "publish":
      return () => {
        const { event, partitionKey } = eventFor(i++);
        return client.publish(event, partitionKey);
      };
    case "bulk publish":
      return () =>
        client.bulkPublish(
          Array.from({ length: BULK }, (_, n) => ({ entryId: String(n), ...eventFor(i++) })),
        );
    case "invoke":
      return () => client.invoke();
    case "state get":
      return () => client.getState(`bench-key-${i++ % 100}`);
    case "state save":
      return () => client.saveState(`bench-save-${i++ % 1000}`, { at: new Date().toISOString(), i });
  }
}

/** A closed loop: `concurrency` callers, each calling again as soon as its call returned. */
async function closedLoop(
  call: () => Promise<void>,
  concurrency: number,
  seconds: number,
  daprdPid: number,
): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const daprd0 = cpuSeconds(daprdPid);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          await call();
          latencies.push(performance.now() - t);
        } catch (error) {
          errors++;
          if (errors <= 3)
            console.error(`  ! ${error instanceof Error ? error.message : String(error)}`.slice(0, 300));
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    calls: latencies.length,
    errors,
    seconds: elapsed,
    latencies,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    daprdCpuMs: (cpuSeconds(daprdPid) - daprd0) * 1000,
  };
}

function summarize(runs: readonly Run[]): Summary {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const calls = latencies.length;
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const sum = (pick: (r: Run) => number): number => runs.reduce((s, r) => s + pick(r), 0);
  return {
    calls,
    errors: sum((r) => r.errors),
    callsPerSecond: round2(calls / seconds),
    p50: round2(percentile(latencies, 50)),
    p99: round2(percentile(latencies, 99)),
    clientCpuMsPerCall: round2(sum((r) => r.clientCpuMs) / Math.max(1, calls)),
    daprdCpuMsPerCall: round2(sum((r) => r.daprdCpuMs) / Math.max(1, calls)),
  };
}

async function main(): Promise<void> {
  announceSmoke();
  const file = outputFile("dapr-client");
  const load = warnIfLoaded();
  const work = await mkdtemp(path.join(tmpdir(), "taskmesh-bench-dapr-"));
  cleanups.add(() => rm(work, { recursive: true, force: true }));

  step("PostgreSQL, Kafka, daprd (builds are cached)");
  const [db, daprdBinary] = await Promise.all([
    startBenchPostgres(cleanups, { prefix: "taskmesh-bench-dapr-pg-" }),
    ensureDaprd(),
    ensureKafka(),
  ]);
  const kafka = await startKafka({
    dataDir: path.join(work, "kafka"),
    port: await freePort(),
    controllerPort: await freePort(),
    heap: "256m",
    partitions: 6,
  });
  cleanups.add(() => kafka.stop());
  await createTopics(kafka.brokers, [TOPIC], 6);

  const appPort = await freePort();
  const app = startProcess({
    source: "bench-app",
    command: process.execPath,
    args: ["--input-type=module", "-e", TARGET_APP],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", PORT: String(appPort) },
  });
  cleanups.add(() => app.stop(2000));

  const resources = path.join(work, "resources");
  await import("node:fs/promises").then((fs) => fs.mkdir(resources));
  await benchResources(resources, db.url);
  const configFile = path.join(work, "configuration.yaml");
  await writeStackConfiguration(configFile, path.join(work, "nameresolution.db"));
  const ports = {
    http: await freePort(),
    grpc: await freePort(),
    internalGrpc: await freePort(),
    metrics: await freePort(),
  };
  const apiToken = randomBytes(24).toString("base64url");
  const daprd = startDaprd({
    binary: daprdBinary,
    appId: APP_ID,
    appPort,
    ports,
    configFile,
    resourcesPath: resources,
    logLevel: "warn",
    env: {
      KAFKA_BROKERS: kafka.brokers,
      APP_API_TOKEN: randomBytes(24).toString("base64url"),
      DAPR_API_TOKEN: apiToken,
    },
  });
  cleanups.add(() => daprd.stop(5000));
  const daprUrl = `http://127.0.0.1:${ports.http}`;
  await waitSidecarReady({
    url: daprUrl,
    apiToken,
    subscriptions: [],
    timeoutMs: 60_000,
    abortIf: () => (daprd.isRunning() ? undefined : `daprd exited:\n${daprd.tail(30)}`),
  });

  const port = createSidecarClient({ baseUrl: daprUrl, apiToken });
  const clients: Client[] = [
    fetchClient(daprUrl, apiToken),
    await sdkClient("http", ports.http, apiToken),
    await sdkClient("grpc", ports.grpc, apiToken),
    portClient(port),
  ];
  // State get reads keys that exist.
  const seed = clients[0];
  if (!seed) throw new Error("no clients");
  for (let k = 0; k < 100; k++) await seed.saveState(`bench-key-${k}`, { k, title: "a value read back" });
  // The figures are only worth something if the calls do what they should.
  const read = await port.getState<{ k: number }>(STORE, "bench-key-7");
  if (read?.value.k !== 7 || !read.etag)
    throw new Error(`the port read ${JSON.stringify(read)} for bench-key-7`);
  await waitUntil("the app answers through daprd", async () => (await seed.invoke(), true), {
    timeoutMs: 20_000,
  });

  step("warming up every client and operation");
  for (const operation of OPERATIONS)
    for (const client of clients)
      await closedLoop(operationCall(client, operation), 4, SMOKE ? 0.1 : 0.5, daprd.pid);

  const runs = new Map<string, Run[]>();
  const keyOf = (operation: Operation, concurrency: number, client: string): string =>
    `${operation}|${concurrency}|${client}`;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const operation of OPERATIONS) {
        step(`round ${round}/${ROUNDS}: ${operation}, concurrency ${concurrency}`, true);
        for (const client of clients) {
          const run = await closedLoop(operationCall(client, operation), concurrency, SECONDS, daprd.pid);
          const key = keyOf(operation, concurrency, client.name);
          runs.set(key, [...(runs.get(key) ?? []), run]);
        }
      }
    }
  }
  const imports = await importCost();

  const results: {
    operation: Operation;
    concurrency: number;
    client: string;
    summary: Summary;
    vsBaseline: { callsPerSecond: number; p50: number; p99: number };
  }[] = [];
  const widths = [26, 9, 7, 7, 8, 8, 1, 7, 7, 7, 6];
  const baselineName = clients[0]?.name ?? "";
  for (const concurrency of CONCURRENCY) {
    for (const operation of OPERATIONS) {
      const base = summarize(runs.get(keyOf(operation, concurrency, baselineName)) ?? []);
      console.log(
        `\n${row(
          [
            `${operation}${operation === "bulk publish" ? ` (${BULK})` : ""}, c=${concurrency}`,
            "calls/s",
            "p50",
            "p99",
            "cpu cli",
            "cpu dprd",
            "|",
            "calls/s",
            "p50",
            "p99",
            "errors",
          ],
          widths,
        )}`,
      );
      for (const client of clients) {
        const s = summarize(runs.get(keyOf(operation, concurrency, client.name)) ?? []);
        const vs = {
          callsPerSecond: round2(s.callsPerSecond / base.callsPerSecond),
          p50: round2(s.p50 / base.p50),
          p99: round2(s.p99 / base.p99),
        };
        results.push({ operation, concurrency, client: client.name, summary: s, vsBaseline: vs });
        console.log(
          row(
            [
              `  ${client.name}`,
              fmt(s.callsPerSecond),
              s.p50.toFixed(2),
              s.p99.toFixed(2),
              s.clientCpuMsPerCall.toFixed(3),
              s.daprdCpuMsPerCall.toFixed(3),
              "|",
              ratio(s.callsPerSecond, base.callsPerSecond),
              ratio(s.p50, base.p50),
              ratio(s.p99, base.p99),
              s.errors,
            ],
            widths,
          ),
        );
      }
    }
  }
  const [loadAfter] = loadavg();
  console.log(
    `\nlatencies in ms; cpu = CPU ms per call of this process (cli) and of daprd; ratios against "${baselineName}" (calls/s: higher is better; p50/p99: lower is better)`,
  );
  console.log(
    `importing @dapr/dapr into a process that has express and zod: +${imports.ms.toFixed(0)} ms, +${imports.rssMiB.toFixed(1)} MiB RSS (from ${imports.baselineRssMiB.toFixed(1)} MiB)`,
  );
  console.log(
    `${SECONDS} s per run, ${ROUNDS} round(s), ${CORES} cores, load average ${(load ?? 0).toFixed(1)} before, ${(loadAfter ?? 0).toFixed(1)} after; node ${process.version}`,
  );

  await writeResultFile(
    file,
    {
      date: new Date().toISOString(),
      node: process.version,
      smoke: SMOKE,
      secondsPerRun: SECONDS,
      rounds: ROUNDS,
      bulkSize: BULK,
      concurrency: CONCURRENCY,
      loadAverage: { before: load, after: loadAfter },
      importDaprSdk: imports,
      results,
    },
    { timed: true },
  );
}

runBenchmark(cleanups, main);
