import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { AssignerProtocol, Kafka, logLevel } from "kafkajs";
import { REPO_ROOT } from "./paths.ts";
import { startProcess, type LogLine, type ManagedProcess } from "./process.ts";
import { waitUntil } from "./wait.ts";

export interface StartKafkaOptions {
  /** Broker data (KRaft storage, config, logs); reused when it exists. */
  dataDir: string;
  port: number;
  /** Default port + 1. */
  controllerPort?: number;
  /** JVM heap, e.g. "256m". */
  heap?: string;
  /** num.partitions for auto-created topics. Default 6. */
  partitions?: number;
  onLine?: (line: LogLine) => void;
  timeoutMs?: number;
}

export interface RunningKafka {
  /** "127.0.0.1:<port>" */
  brokers: string;
  process(): ManagedProcess;
  /** Controlled shutdown (SIGTERM), SIGKILL after 20 s. */
  stop(): Promise<void>;
  /** Stops and starts the same broker (same data, same port). */
  restart(): Promise<void>;
  /** The tail of server.log, for error messages. */
  serverLogTail(lines?: number): Promise<string>;
}

/**
 * Kafka ApiVersions v0 (api_key 18, correlation id 1): true when the broker answers with
 * correlation id 1 and no error, i.e. it serves requests (a bound port is not enough).
 */
export function kafkaAnswers(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => {
      done(false);
    });
    socket.once("error", () => {
      done(false);
    });
    let got = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 10) done(got.readInt32BE(4) === 1 && got.readInt16BE(8) === 0);
    });
    socket.once("connect", () => {
      socket.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]));
    });
  });
}

/**
 * One Apache Kafka node (KRaft) through scripts/kafka/kafka.sh start --foreground, owned by
 * this process: it dies with it, and its output is captured. Resolves once it serves requests.
 */
export async function startKafka(options: StartKafkaOptions): Promise<RunningKafka> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const args = [
    path.join(REPO_ROOT, "scripts/kafka/kafka.sh"),
    "start",
    "--foreground",
    "--data-dir",
    options.dataDir,
    "--port",
    String(options.port),
    "--controller-port",
    String(options.controllerPort ?? options.port + 1),
    "--heap",
    options.heap ?? "256m",
    "--partitions",
    String(options.partitions ?? 6),
  ];
  const serverLogTail = async (lines = 30): Promise<string> => {
    try {
      const text = await readFile(path.join(options.dataDir, "logs/server.log"), "utf8");
      return text
        .trimEnd()
        .split("\n")
        .slice(-lines)
        .map((l) => `  [kafka server.log] ${l.slice(0, 300)}`)
        .join("\n");
    } catch {
      return "";
    }
  };
  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess({
      source: "kafka",
      command: "bash",
      args,
      cwd: REPO_ROOT,
      env: process.env,
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
    try {
      await waitUntil(
        `Kafka on 127.0.0.1:${options.port}`,
        async () => ((await kafkaAnswers(options.port)) ? true : undefined),
        {
          timeoutMs,
          intervalMs: 150,
          abortIf: () => (proc.isRunning() ? undefined : "the broker exited"),
        },
      );
    } catch (error) {
      await proc.stop(2000);
      throw new Error(`${(error as Error).message}\n${proc.tail(20)}\n${await serverLogTail()}`, {
        cause: error,
      });
    }
    return proc;
  };

  let current = await launch();
  return {
    brokers: `127.0.0.1:${options.port}`,
    process: () => current,
    stop: () => current.stop(20_000),
    async restart() {
      await current.stop(20_000);
      current = await launch();
    },
    serverLogTail,
  };
}

function admin(brokers: string): ReturnType<Kafka["admin"]> {
  return new Kafka({
    clientId: "taskmesh-stack",
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  }).admin();
}

/** Creates the topics that do not exist yet (and waits for their leaders). */
export async function createTopics(
  brokers: string,
  topics: readonly string[],
  partitions = 6,
): Promise<void> {
  const client = admin(brokers);
  await client.connect();
  try {
    const existing = new Set(await client.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await client.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await client.disconnect();
  }
}

export interface ConsumerExpectation {
  group: string;
  topics: readonly string[];
  /**
   * Member ids of consumers known to be dead (a SIGKILLed sidecar): the coordinator keeps them,
   * Stable and holding their partitions, until their session times out. Not ready while any is there.
   */
  staleMembers?: readonly string[];
}

/** The current member ids of each group (empty for a group that does not exist). */
export async function groupMembers(
  brokers: string,
  groups: readonly string[],
): Promise<Map<string, string[]>> {
  const client = admin(brokers);
  await client.connect();
  try {
    const described = await client.describeGroups([...groups]);
    return new Map(described.groups.map((g) => [g.groupId, g.members.map((m) => m.memberId)]));
  } finally {
    await client.disconnect();
  }
}

/**
 * Waits until each consumer group is Stable with every partition of its topics assigned to
 * a member: from then on a published message is delivered without waiting for a rebalance.
 */
export async function waitForConsumerGroups(
  brokers: string,
  expectations: readonly ConsumerExpectation[],
  timeoutMs = 60_000,
): Promise<void> {
  if (expectations.length === 0) return;
  const client = admin(brokers);
  await client.connect();
  try {
    const topics = [...new Set(expectations.flatMap((e) => e.topics))];
    const meta = await client.fetchTopicMetadata({ topics });
    const partitionCount = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    let lastSeen = "";
    await waitUntil(
      `consumer groups ${expectations.map((e) => e.group).join(", ")} stable`,
      async () => {
        const { groups } = await client.describeGroups(expectations.map((e) => e.group));
        const notReady: string[] = [];
        for (const expected of expectations) {
          const group = groups.find((g) => g.groupId === expected.group);
          if (group?.state !== "Stable") {
            notReady.push(`${expected.group}: ${group?.state ?? "unknown"}`);
            continue;
          }
          const stale = group.members.filter((m) => expected.staleMembers?.includes(m.memberId));
          if (stale.length > 0) {
            notReady.push(
              `${expected.group}: dead member ${stale.map((m) => m.memberId).join(", ")} not evicted yet`,
            );
            continue;
          }
          const assigned = new Map<string, number>();
          for (const member of group.members) {
            const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
            for (const [topic, parts] of Object.entries(decoded?.assignment ?? {}))
              assigned.set(topic, (assigned.get(topic) ?? 0) + parts.length);
          }
          for (const topic of expected.topics) {
            if ((assigned.get(topic) ?? 0) < (partitionCount.get(topic) ?? 1))
              notReady.push(
                `${expected.group}: ${topic} ${assigned.get(topic) ?? 0}/${partitionCount.get(topic) ?? "?"} partitions assigned`,
              );
          }
        }
        lastSeen = notReady.join("; ");
        return notReady.length === 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}${lastSeen ? ` (${lastSeen})` : ""}`, { cause: error });
    });
  } finally {
    await client.disconnect();
  }
}
