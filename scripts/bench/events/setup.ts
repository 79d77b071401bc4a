/**
 * What bench:events sets up around the pipelines: the pieces it needs, the per-mode copy of the
 * Dapr resources, sidecar configuration experiments, the direct baseline's processes, and the
 * record sizes on the broker.
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { parseAllDocuments, stringify } from "yaml";
import { SERVICE_NODE_OPTIONS } from "../../service-runtime.ts";
import {
  COMPONENTS_DIR,
  createTopics,
  startProcess,
  type ManagedProcess,
  type RunningStack,
} from "../../stack/index.ts";
import { REPO_ROOT as root } from "../harness.ts";
import { BULK_AWAIT_MS, BULK_MAX_MESSAGES, PARTITIONS, POLL_MS, type Mode } from "./settings.ts";

/** Refuses to run (exit 2) when a piece the pipeline needs is not in the tree yet. */
export async function checkPieces(): Promise<void> {
  const missing: string[] = [];
  const need = (file: string, why: string): void => {
    if (!existsSync(path.join(root, file))) missing.push(`${file} (${why})`);
  };
  need("services/task-api/src/workers/outbox-relay.worker.ts", "task-api's outbox relay");
  need("services/audit-log/src/main.ts", "the audit-log service");
  need("services/audit-log/src/data/audit-entry.repository.ts", "audit-log's repository (baseline consumer)");
  need(
    "services/audit-log/src/domain/record-task-events.use-case.ts",
    "audit-log's use case (baseline consumer)",
  );
  const launcher = await readFile(path.join(root, "scripts/stack/stack.ts"), "utf8").catch(() => "");
  if (!launcher.includes("resourcesPath?: string"))
    missing.push("scripts/stack/stack.ts launchStack option resourcesPath (bulk subscription variant)");
  const config = await readFile(path.join(root, "services/task-api/src/config.ts"), "utf8").catch(() => "");
  if (!config.includes("OUTBOX_BULK_PUBLISH"))
    missing.push("task-api config OUTBOX_BULK_PUBLISH (relay modes)");
  if (missing.length > 0) {
    console.error(`bench:events cannot run, missing:\n${missing.map((m) => `  - ${m}`).join("\n")}`);
    process.exit(2);
  }
}

interface Resource {
  kind?: string;
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
}

/**
 * A copy of dapr-components/ for one mode: audit-log's subscription with bulkSubscribe on
 * (bulk) or off (per event); everything else as checked in. Returns the dir and what the
 * checked-in subscription says about bulk.
 */
export async function writeResources(dir: string, mode: Mode): Promise<{ dir: string; checkedIn: string }> {
  await mkdir(dir, { recursive: true });
  let checkedIn = "off";
  for (const file of await readdir(COMPONENTS_DIR)) {
    if (!file.endsWith(".yaml")) continue;
    if (file !== "subscriptions.yaml") {
      await copyFile(path.join(COMPONENTS_DIR, file), path.join(dir, file));
      continue;
    }
    const docs = parseAllDocuments(await readFile(path.join(COMPONENTS_DIR, file), "utf8")).map(
      (d) => d.toJS() as Resource,
    );
    for (const doc of docs) {
      if (doc.kind !== "Subscription" || doc.metadata?.name !== "audit-log-task-events" || !doc.spec)
        continue;
      if (doc.spec.bulkSubscribe) checkedIn = JSON.stringify(doc.spec.bulkSubscribe);
      if (mode === "bulk")
        doc.spec.bulkSubscribe = {
          enabled: true,
          maxMessagesCount: BULK_MAX_MESSAGES,
          maxAwaitDurationMs: BULK_AWAIT_MS,
        };
      else delete doc.spec.bulkSubscribe;
    }
    await writeFile(path.join(dir, file), docs.map((d) => stringify(d)).join("---\n"));
  }
  return { dir, checkedIn };
}

/** Experiments on configuration.yaml without touching it: BENCH_DAPR_TRACING=<samplingRate>, BENCH_DAPR_METRICS=false. */
export const DAPR_CONFIG_EDITS: [RegExp, string][] = [
  ...(process.env.BENCH_DAPR_TRACING === undefined
    ? []
    : [
        [/samplingRate: "?[0-9.]+"?/, `samplingRate: "${process.env.BENCH_DAPR_TRACING}"`] as [
          RegExp,
          string,
        ],
      ]),
  ...(process.env.BENCH_DAPR_METRICS === "false"
    ? [[/metrics:\n(\s+)enabled: true/, "metrics:\n$1enabled: false"] as [RegExp, string]]
    : []),
];

/** Rewrites the stack's copy of configuration.yaml and restarts the sidecars on it. */
export async function editSidecarConfiguration(stack: RunningStack, workDir: string): Promise<void> {
  const file = path.join(workDir, "dapr-configuration.yaml");
  let text = await readFile(file, "utf8");
  for (const [pattern, replacement] of DAPR_CONFIG_EDITS) {
    if (!pattern.test(text)) throw new Error(`configuration.yaml: ${String(pattern)} not found`);
    text = text.replace(pattern, replacement);
  }
  await writeFile(file, text);
  for (const app of stack.apps) await stack.restart(app, "sidecar");
  await stack.waitForConsumers();
}

/** The baseline's two processes (scripts/bench/direct-pipeline.ts), started and ready. */
export async function startDirect(options: {
  mode: Mode;
  brokers: string;
  databaseUrl: string;
  relayEnv: Record<string, string>;
}): Promise<{ relay: ManagedProcess; consumer: ManagedProcess; stop(): Promise<void> }> {
  const topic = `bench-direct-${options.mode}`;
  await createTopics(options.brokers, [topic], PARTITIONS);
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    DATABASE_URL: options.databaseUrl,
    KAFKA_BROKERS: options.brokers,
    DIRECT_TOPIC: topic,
    GROUP_ID: topic,
    BULK: String(options.mode === "bulk"),
    BULK_MAX_MESSAGES: String(BULK_MAX_MESSAGES),
    OUTBOX_POLL_INTERVAL_MS: String(POLL_MS),
    ...options.relayEnv,
  };
  const launch = (role: "relay" | "consumer"): ManagedProcess =>
    startProcess({
      source: `direct-${role}`,
      command: process.execPath,
      args: ["--import", "tsx", path.join(root, "scripts/bench/direct-pipeline.ts"), role],
      cwd: root,
      env,
    });
  const relay = launch("relay");
  const consumer = launch("consumer");
  const stop = async (): Promise<void> => {
    await Promise.all([relay.stop(5000), consumer.stop(5000)]);
  };
  try {
    for (const proc of [relay, consumer]) {
      const deadline = Date.now() + 60_000;
      while (!proc.lines().some((l) => l.text === "ready")) {
        if (!proc.isRunning()) throw new Error(`${proc.source} exited:\n${proc.tail(20)}`);
        if (Date.now() > deadline) throw new Error(`${proc.source} not ready in 60 s:\n${proc.tail(20)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { relay, consumer, stop };
}

/** Average record value size per topic, from the first records of each (a throwaway consumer group). */
export async function recordSizes(
  brokers: string,
  topics: string[],
  wanted = 200,
): Promise<Record<string, number>> {
  const kafka = new Kafka({
    clientId: "bench-events-sizes",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `bench-sizes-${Date.now()}` });
  const seen = new Map<string, number[]>(topics.map((t) => [t, []]));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const list = seen.get(batch.topic);
        for (const m of batch.messages) if (list && list.length < wanted) list.push(m.value?.length ?? 0);
        if ([...seen.values()].every((l) => l.length >= wanted)) done();
        await Promise.resolve();
      },
    });
    await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return Object.fromEntries(
    [...seen].map(([t, l]) => [t, l.length > 0 ? l.reduce((a, b) => a + b, 0) / l.length : NaN]),
  );
}
