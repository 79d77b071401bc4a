/**
 * A real Kafka broker and a real daprd for task-api's sidecar, for the tests of what task-api
 * does through its sidecar (the outbox relay). The whole stack (every service with its
 * sidecar) is test/support/stack.ts; this starts only the two pieces these tests need.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@taskmesh/core";
import { Kafka, logLevel, type Consumer } from "kafkajs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const COMPONENTS = path.join(ROOT, "dapr-components");

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}:\n${err.slice(-3000)}`));
    });
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface TestKafka {
  brokers: string;
  stop(): Promise<void>;
}

/** One Kafka node (scripts/kafka/kafka.sh) in a fresh directory on free ports. */
export async function startTestKafka(): Promise<TestKafka> {
  const dir = await mkdtemp(path.join(tmpdir(), "taskmesh-test-kafka-"));
  const port = await freePort();
  const controllerPort = await freePort();
  const script = path.join(ROOT, "scripts/kafka/kafka.sh");
  const stop = async () => {
    await run("bash", [script, "stop", "--data-dir", dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run("bash", [
      script,
      "start",
      "--data-dir",
      dir,
      "--port",
      String(port),
      "--controller-port",
      String(controllerPort),
      "--heap",
      "256m",
      "--partitions",
      "4",
      "--timeout",
      "120",
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { brokers: `127.0.0.1:${port}`, stop };
}

export interface TestSidecar {
  /** daprd's HTTP API, e.g. http://127.0.0.1:41234 */
  url: string;
  apiToken: string;
  /** Stops daprd (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * daprd as task-api's sidecar (app id task-api, the project's dapr-components/), without an
 * app behind it: the relay only calls the sidecar, nothing calls the app. A configuration
 * copy with its own name-resolution file keeps it apart from any other stack on the machine.
 */
export async function startTaskApiSidecar(options: { brokers: string }): Promise<TestSidecar> {
  const binary = (await run("bash", [path.join(ROOT, "scripts/daprd/build.sh")])).trim().split("\n").at(-1);
  if (!binary) throw new Error("scripts/daprd/build.sh printed no daprd path");
  const dir = await mkdtemp(path.join(tmpdir(), "taskmesh-test-daprd-"));
  const configuration = (await readFile(path.join(COMPONENTS, "configuration.yaml"), "utf8")).replace(
    /connectionString: .*nameresolution\.db/,
    `connectionString: ${path.join(dir, "nameresolution.db")}`,
  );
  const configFile = path.join(dir, "configuration.yaml");
  await writeFile(configFile, configuration);
  const [http, grpc, internalGrpc, metrics] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const apiToken = `dapr-token-${Math.random().toString(36).slice(2)}`;
  const url = `http://127.0.0.1:${http}`;
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    output = "";
    // prettier-ignore
    const args = [
      "--mode", "standalone", "--app-id", "task-api",
      "--dapr-http-port", String(http), "--dapr-grpc-port", String(grpc),
      "--dapr-internal-grpc-port", String(internalGrpc), "--metrics-port", String(metrics),
      "--dapr-listen-addresses", "127.0.0.1", "--dapr-internal-grpc-listen-address", "127.0.0.1",
      "--metrics-listen-address", "127.0.0.1",
      "--resources-path", COMPONENTS, "--config", configFile, "--log-level", "warn",
    ];
    const proc = spawn(binary, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        KAFKA_BROKERS: options.brokers,
        DAPR_API_TOKEN: apiToken,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    running.add(proc);
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-5000);
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    proc.once("exit", () => running.delete(proc));
    try {
      await waitFor(
        "daprd to be healthy",
        async () => {
          if (proc.exitCode !== null) throw new Error("exited");
          const res = await fetch(`${url}/v1.0/healthz`, {
            headers: { "dapr-api-token": apiToken },
            signal: AbortSignal.timeout(2000),
          });
          return res.ok;
        },
        60_000,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; daprd output:\n${output}`, { cause: error });
    }
  };

  const stop = async () => {
    const proc = child;
    if (proc?.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    url,
    apiToken,
    start,
    stop: async () => {
      await stop();
    },
  };
}

/** A message as it sits on the broker: the Kafka record key and the CloudEvent. */
export interface BrokerMessage {
  key: string | null;
  partition: number;
  event: { id: string; type: string; source: string; data: { taskId: string; sequence: number } };
}

export interface TopicReader {
  messages: BrokerMessage[];
  /** Waits until `predicate` holds for the messages read so far. */
  waitFor(predicate: (messages: BrokerMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Reads a topic from the beginning with a consumer group of its own (a direct Kafka client). */
export async function readTopic(brokers: string, topic: string): Promise<TopicReader> {
  const kafka = new Kafka({ clientId: "taskmesh-test", brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  const consumer: Consumer = kafka.consumer({ groupId: `test-${Math.random().toString(36).slice(2)}` });
  const messages: BrokerMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      messages.push({
        key: message.key?.toString() ?? null,
        partition,
        event: JSON.parse(message.value?.toString() ?? "null") as BrokerMessage["event"],
      });
      return Promise.resolve();
    },
  });
  return {
    messages,
    async waitFor(predicate, timeoutMs = 60_000) {
      await waitFor("messages on the broker", () => Promise.resolve(predicate(messages)), timeoutMs);
    },
    stop: () => consumer.disconnect(),
  };
}
