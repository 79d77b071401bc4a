import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { AssignerProtocol, Kafka, logLevel } from "kafkajs";
import type { ProgressLog } from "./binaries.ts";
import {
  cdsArchive,
  cdsDrop,
  cdsEnabled,
  cdsOk,
  cdsPromote,
  kafkaInstall,
  newClusterId,
  toolJvmArgs,
  type KafkaInstall,
} from "./kafka-install.ts";
import { startProcess, type LogLine, type ManagedProcess } from "./process.ts";
import { waitUntil } from "./wait.ts";

export interface StartKafkaOptions {
  /** Broker data (KRaft storage, config, logs); reused when it exists. */
  dataDir: string;
  port: number;
  /** Default port + 1. */
  controllerPort?: number;
  /** JVM heap, e.g. "256m" (the default). */
  heap?: string;
  /** num.partitions for auto-created topics. Default 6. */
  partitions?: number;
  onLine?: (line: LogLine) => void;
  /** Progress of the install, the storage format and the class-data archive. */
  log?: ProgressLog;
  timeoutMs?: number;
}

const run = promisify(execFile);

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

/** Is something listening on 127.0.0.1:port (a broker that is not ours, say)? */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

/** Single-node KRaft: this process is broker and (standalone) controller. */
function serverProperties(o: {
  port: number;
  controllerPort: number;
  partitions: number;
  kraftDir: string;
}): string {
  return `# Written by scripts/stack/kafka.ts on every start (edits here are overwritten).
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:${o.controllerPort}
listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${o.kraftDir}

# One node: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# Topics appear on first use, like Redpanda's auto_create_topics_enabled.
auto.create.topics.enable=true
num.partitions=${o.partitions}
delete.topic.enable=true

# Development settings: no 3 s wait before the first consumer-group rebalance,
# few threads on a small machine.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# The log cleaner (compacted topics such as __consumer_offsets) allocates its
# dedupe buffer on the heap at startup: 128 MiB by default, 16 MiB here.
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=168
`;
}

/** Broker log: rolling server.log at INFO (Kafka's own layout), the request loggers quiet. */
const BROKER_LOG4J = `# Written by scripts/stack/kafka.ts on every start.
status = warn
name = taskmesh-kafka
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = \${sys:kafka.logs.dir}/server.log
appender.server.filePattern = \${sys:kafka.logs.dir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 20MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.requestchannel.name = kafka.network.RequestChannel$
logger.requestchannel.level = WARN
`;

/** Formats the KRaft storage once (standalone controller); the cluster id is kept in <data>/cluster-id. */
async function formatStorage(
  install: KafkaInstall,
  dataDir: string,
  config: string,
  log: ProgressLog,
): Promise<void> {
  if (existsSync(path.join(dataDir, "kraft-combined-logs/meta.properties"))) return;
  const idFile = path.join(dataDir, "cluster-id");
  const clusterId = (await readFile(idFile, "utf8").catch(() => "")).trim() || newClusterId();
  await writeFile(idFile, `${clusterId}\n`);
  log(`formatting KRaft storage in ${dataDir} (cluster id ${clusterId}, standalone controller)`);
  const args = [...(await toolJvmArgs(install)), "kafka.tools.StorageTool", "format"];
  args.push("--config", config, "--cluster-id", clusterId, "--standalone");
  try {
    await run(install.java, args);
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`kafka-storage format failed:\n${stdout}${stderr}`, { cause: error });
  }
}

/**
 * The broker's JVM: small heap, serial GC (one node, little garbage: less RSS and fewer threads
 * than G1 on 2 cores), C1 only unless TASKMESH_KAFKA_JIT=full (faster start, less CPU while
 * warming up), the class-data archive (or, without one, a dump of it at exit), then
 * TASKMESH_KAFKA_JVM_OPTS.
 */
function brokerJvmArgs(
  heap: string,
  logDir: string,
  confDir: string,
  cds: { mode: "use" | "dump" | "off"; archive: string },
): string[] {
  const n = Number.parseInt(heap, 10);
  const small = /[kK]$/.test(heap) ? n < 65536 : /[mM]$/.test(heap) && n < 64;
  const args = [`-Xms${small ? heap : "64m"}`, `-Xmx${heap}`];
  args.push("-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData");
  args.push(`-XX:ErrorFile=${logDir}/hs_err_pid%p.log`, "-Djava.awt.headless=true");
  args.push(`-Dkafka.logs.dir=${logDir}`, `-Dlog4j2.configurationFile=${confDir}/log4j2.properties`);
  if (process.env.TASKMESH_KAFKA_JIT !== "full") args.push("-XX:TieredStopAtLevel=1");
  if (cds.mode === "use") args.push(`-XX:SharedArchiveFile=${cds.archive}`, "-Xshare:auto");
  if (cds.mode === "dump") {
    const dump = `${cds.archive}.dump-${process.pid}-${randomBytes(3).toString("hex")}`;
    args.push(`-XX:ArchiveClassesAtExit=${dump}`, "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
  }
  args.push(...(process.env.TASKMESH_KAFKA_JVM_OPTS ?? "").split(/\s+/).filter(Boolean));
  return args;
}

/**
 * One Apache Kafka node (KRaft) from the pinned install (installed first if needed), owned by
 * this process: it dies with it, and its output is captured. Formats the storage on the first
 * start of a data dir, rewrites the broker's configuration on every start, and resolves once
 * the broker serves requests.
 */
export async function startKafka(options: StartKafkaOptions): Promise<RunningKafka> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  const controllerPort = options.controllerPort ?? options.port + 1;
  if (controllerPort === options.port) throw new Error("the Kafka port and controller port must differ");
  const log = options.log ?? (() => undefined);
  const install = await kafkaInstall(log);
  const dataDir = path.resolve(options.dataDir);
  const confDir = path.join(dataDir, "config");
  const logDir = path.join(dataDir, "logs");
  const config = path.join(confDir, "server.properties");
  await mkdir(confDir, { recursive: true });
  await mkdir(logDir, { recursive: true });
  const kraftDir = path.join(dataDir, "kraft-combined-logs");
  await writeFile(
    config,
    serverProperties({ ...options, controllerPort, partitions: options.partitions ?? 6, kraftDir }),
  );
  await writeFile(path.join(confDir, "log4j2.properties"), BROKER_LOG4J);
  await formatStorage(install, dataDir, config, log);
  const archive = cdsArchive(install);
  let useCds = cdsEnabled();

  const serverLogTail = async (lines = 30): Promise<string> => {
    try {
      const text = await readFile(path.join(logDir, "server.log"), "utf8");
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
    for (const port of [options.port, controllerPort])
      if (await portTaken(port))
        throw new Error(`port ${port} on 127.0.0.1 is already in use (another broker? choose other ports)`);
    if (useCds) await cdsPromote(install, archive, log);
    const cds = { mode: !useCds ? "off" : cdsOk(archive) ? "use" : "dump", archive } as const;
    if (cds.mode === "dump") await mkdir(path.dirname(archive), { recursive: true });
    const proc = startProcess({
      source: "kafka",
      command: install.java,
      args: [
        ...brokerJvmArgs(options.heap ?? "256m", logDir, confDir, cds),
        "-cp",
        install.classpath,
        "kafka.Kafka",
        config,
      ],
      cwd: dataDir,
      env: process.env,
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
    try {
      await waitUntil(
        `Kafka on 127.0.0.1:${options.port}`,
        async () => ((await kafkaAnswers(options.port)) ? true : undefined),
        { timeoutMs, intervalMs: 150, abortIf: () => (proc.isRunning() ? undefined : "the broker exited") },
      );
    } catch (error) {
      await proc.stop(2000);
      if (cds.mode === "use" && proc.lines().some((l) => l.text.includes("fatal error has been detected"))) {
        // JDK 17 crashes on a damaged archive instead of ignoring it: once without it.
        log(`the JVM crashed with the class-data archive ${archive}: removing it, starting without`);
        await cdsDrop(archive);
        useCds = false;
        return launch();
      }
      throw new Error(`${(error as Error).message}\n${proc.tail(20)}\n${await serverLogTail()}`, {
        cause: error,
      });
    }
    // A rejected archive (other JVM build, changed jars) is not mapped: drop it, the next start writes a fresh one.
    if (
      cds.mode === "use" &&
      !(await readFile(`/proc/${proc.pid}/maps`, "utf8").catch(() => "")).includes(archive)
    ) {
      log(`class-data archive ${archive} was not used by the JVM; removing it`);
      await cdsDrop(archive);
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
