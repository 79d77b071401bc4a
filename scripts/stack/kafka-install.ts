/**
 * Apache Kafka from Maven Central, installed once per version and cached: the jars of
 * scripts/kafka/pom.xml (THE VERSION PIN is its kafka.version property), a JDK 17+, and the
 * JVM flags the broker and the CLI tools run with, including the AppCDS class-data archive
 * that roughly halves the JVM's start-up work.
 */
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import type { ProgressLog } from "./binaries.ts";
import { REPO_ROOT } from "./paths.ts";

const run = promisify(execFile);
const POM = path.join(REPO_ROOT, "scripts/kafka/pom.xml");
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies";

export interface KafkaInstall {
  version: string;
  /** ~/.cache/taskmesh/kafka/<version> */
  dir: string;
  /** The JVM classpath: every jar of the install. */
  classpath: string;
  java: string;
}

function installPaths(): { version: string; pomHash: string; dir: string; marker: string } {
  const pom = readFileSync(POM, "utf8");
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error(`no <kafka.version> property in ${POM}`);
  const cache = process.env.TASKMESH_CACHE_DIR ?? path.join(homedir(), ".cache/taskmesh");
  const dir = path.join(cache, "kafka", version);
  const pomHash = createHash("sha256").update(pom).digest("hex");
  return { version, pomHash, dir, marker: path.join(dir, ".installed") };
}

/** The java to use: $JAVA, else $JAVA_HOME/bin/java, else java on PATH. */
function javaBinary(): string {
  if (process.env.JAVA) return process.env.JAVA;
  const home = process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, "bin/java");
  return home && existsSync(home) ? home : "java";
}

async function checkJava(java: string, version: string): Promise<void> {
  let settings: string;
  try {
    settings = (await run(java, ["-XshowSettings:properties", "-version"])).stderr;
  } catch {
    throw new Error(
      `java not found: Kafka ${version} needs a JDK/JRE 17+ (apt-get install openjdk-17-jre-headless)`,
    );
  }
  const spec = /java\.specification\.version = (\S+)/.exec(settings)?.[1]?.replace(/^1\./, "");
  if (!spec || Number(spec) < 17)
    throw new Error(`${java} is Java ${spec ?? "?"}; Kafka ${version} (broker, tools) needs Java 17+`);
}

/** The marker is written last: it names the pom it came from and every jar, so an install is all or nothing. */
function installedOk(marker: string, pomHash: string, libs: string): boolean {
  try {
    const text = readFileSync(marker, "utf8");
    if (!text.includes(`\npom-sha256=${pomHash}\n`)) return false;
    const jars = [...text.matchAll(/^jar=(.+)$/gm)].map((m) => m[1] ?? "");
    return jars.every((jar) => statSync(path.join(libs, jar), { throwIfNoEntry: false })?.size);
  } catch {
    return false;
  }
}

/**
 * Holds an flock(1) on `file` while `fn` runs (CI and tests may install concurrently): flock's
 * child waits on a stdin only this process holds, so the lock goes when `fn` ends or we die.
 */
async function withFileLock<T>(file: string, log: ProgressLog, fn: () => Promise<T>): Promise<T> {
  const holder = spawn("flock", [file, "sh", "-c", "echo locked; exec cat >/dev/null"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting = setTimeout(() => {
    log(`another install holds ${file}; waiting`);
  }, 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once("data", () => {
        resolve();
      });
      holder.once("error", reject);
      holder.once("exit", (code) => {
        reject(new Error(`flock ${file} exited (${code})`));
      });
    });
  } finally {
    clearTimeout(waiting);
  }
  try {
    return await fn();
  } finally {
    holder.stdin.end();
  }
}

/** Runs mvn copy-dependencies into `out`, its log in `logFile`, reporting every 25 downloads. */
async function copyDependencies(out: string, logFile: string, log: ProgressLog): Promise<void> {
  const extra = (process.env.TASKMESH_KAFKA_MVN_ARGS ?? "").split(/\s+/).filter(Boolean);
  const args = ["-n", "10", "mvn", "-B", "-f", POM, ...extra, DEPENDENCY_PLUGIN];
  args.push("-DincludeScope=runtime", `-DoutputDirectory=${out}`);
  const child = spawn("nice", args, { stdio: ["ignore", "pipe", "pipe"] });
  const file = createWriteStream(logFile);
  const errors: string[] = [];
  let downloads = 0;
  const started = Date.now();
  for (const stream of [child.stdout, child.stderr])
    readline.createInterface({ input: stream }).on("line", (line) => {
      file.write(`${line}\n`);
      if (line.startsWith("[ERROR]") && errors.length < 20) errors.push(line);
      if (line.startsWith("[INFO] Downloaded from") && ++downloads % 25 === 0)
        log(`  downloaded ${downloads} files (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", (error) => {
      reject(new Error(`mvn not found (apt-get install maven): ${error.message}`, { cause: error }));
    });
    child.once("close", resolve);
  });
  file.end();
  if (code !== 0) throw new Error(`mvn failed; see ${logFile}\n${errors.join("\n")}`);
  log(`  maven done: downloaded ${downloads} files`);
}

/** The jars the broker, the storage tool and logging need, and a log4j binding that matches log4j-core. */
function checkClasspath(jars: string[], version: string): void {
  const wanted = [
    ...["kafka_2.13", "kafka-server", "kafka-storage", "kafka-metadata", "kafka-raft", "kafka-tools"],
    "kafka-clients",
  ].map((name) => `${name}-${version}`);
  wanted.push("log4j-api-", "log4j-core-", "log4j-slf4j-impl-", "slf4j-api-", "scala-library-");
  for (const prefix of wanted)
    if (!jars.some((jar) => jar.startsWith(prefix) && jar.endsWith(".jar")))
      throw new Error(`resolved classpath lacks ${prefix}*.jar`);
  const versionOf = (prefix: string): string | undefined =>
    jars.find((jar) => jar.startsWith(prefix))?.slice(prefix.length, -".jar".length);
  const core = versionOf("log4j-core-");
  const binding = versionOf("log4j-slf4j-impl-");
  if (core !== binding)
    throw new Error(
      `log4j-slf4j-impl (${binding}) != log4j-core (${core}) that Kafka brings: set <log4j.version> in ${POM}`,
    );
}

/**
 * Installs Apache Kafka's jars from Maven Central once (idempotent: later calls return at once)
 * and checks for a Java 17+. Returns the install dir.
 */
export async function ensureKafka(log: ProgressLog = () => undefined): Promise<string> {
  return (await kafkaInstall(log)).dir;
}

export async function kafkaInstall(log: ProgressLog = () => undefined): Promise<KafkaInstall> {
  const { version, pomHash, dir, marker } = installPaths();
  const libs = path.join(dir, "libs");
  const java = javaBinary();
  const result = { version, dir, classpath: path.join(libs, "*"), java };
  if (installedOk(marker, pomHash, libs)) {
    await checkJava(java, version);
    return result;
  }
  await checkJava(java, version);
  await mkdir(dir, { recursive: true });
  await withFileLock(path.join(dir, "..", `.lock-${version}`), log, async () => {
    if (installedOk(marker, pomHash, libs)) return;
    const started = Date.now();
    const partial = path.join(dir, "libs.partial");
    await rm(partial, { recursive: true, force: true });
    await rm(marker, { force: true });
    log(
      `installing Apache Kafka ${version} (org.apache.kafka:kafka_2.13 + tools + log4j binding) from Maven Central`,
    );
    log(`into ${libs} (full Maven log: ${path.join(dir, "install.log")})`);
    await copyDependencies(partial, path.join(dir, "install.log"), log);
    const jars = (await readdir(partial)).filter((f) => f.endsWith(".jar")).sort();
    checkClasspath(jars, version);
    await rm(libs, { recursive: true, force: true });
    await rename(partial, libs);
    const lines = [`version=${version}`, `pom-sha256=${pomHash}`, `installed=${new Date().toISOString()}`];
    await writeFile(`${marker}.tmp`, `${[...lines, ...jars.map((j) => `jar=${j}`)].join("\n")}\n`);
    await rename(`${marker}.tmp`, marker);
    log(`installed Kafka ${version} (${jars.length} jars) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  });
  return result;
}

// ---- AppCDS ---------------------------------------------------------------------------------
// A broker started without an archive dumps the classes it loaded when it exits cleanly; later
// starts map them. One archive per (java build, Kafka install), in the install dir. An archive
// is used only beside its <archive>.ok (its size, written once checked): JDK 17 aborts (SIGBUS)
// on a truncated archive instead of falling back, even with -Xshare:auto.

export const cdsEnabled = (): boolean => (process.env.TASKMESH_KAFKA_CDS ?? "1") === "1";

export function cdsArchive(install: KafkaInstall): string {
  const hash = createHash("sha256");
  try {
    const java = realpathSync(install.java.includes("/") ? install.java : whichSync(install.java));
    hash.update(`${java}\n`);
    for (const file of [java, path.join(path.dirname(java), "../lib/server/libjvm.so")]) {
      const s = statSync(file, { throwIfNoEntry: false });
      if (s) hash.update(`${s.size} ${Math.floor(s.mtimeMs / 1000)}\n`);
    }
    hash.update(readFileSync(path.join(install.dir, ".installed"), "utf8").split("\njar=")[0] ?? "");
  } catch {
    hash.update("unknown java");
  }
  return path.join(install.dir, "cds", `kafka-${hash.digest("hex").slice(0, 16)}.jsa`);
}

function whichSync(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return name;
}

export function cdsOk(archive: string): boolean {
  try {
    return (
      statSync(archive).size > 0 &&
      readFileSync(`${archive}.ok`, "utf8").trim() === String(statSync(archive).size)
    );
  } catch {
    return false;
  }
}

export async function cdsDrop(archive: string): Promise<void> {
  await Promise.all([rm(archive, { force: true }), rm(`${archive}.ok`, { force: true })]);
}

/** Turns a finished dump (left by a broker that has exited) into the archive, once this JVM accepts it. */
export async function cdsPromote(install: KafkaInstall, archive: string, log: ProgressLog): Promise<void> {
  if (cdsOk(archive)) return;
  await cdsDrop(archive);
  const dir = path.dirname(archive);
  const dumps = (await readdir(dir).catch(() => [] as string[]))
    .filter((f) => f.startsWith(`${path.basename(archive)}.dump-`))
    .map((f) => path.join(dir, f));
  for (const dump of dumps) {
    if (dumpInUse(dump)) continue;
    const accepted = await run(install.java, [
      "-Xshare:on",
      `-XX:SharedArchiveFile=${dump}`,
      `-XX:ErrorFile=${path.join(tmpdir(), `taskmesh-kafka-cds-check-${process.pid}.log`)}`,
      "-XX:-CreateCoredumpOnCrash",
      "-cp",
      install.classpath,
      "-version",
    ]).then(
      () => true,
      () => false,
    );
    if (accepted) {
      await rename(dump, archive);
      await writeFile(`${archive}.ok`, `${(await stat(archive)).size}\n`);
      log(`class-data archive ready: ${archive}`);
    } else await rm(dump, { force: true });
  }
}

/** Still being written by a running broker? */
function dumpInUse(dump: string): boolean {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dump)) return true;
    } catch {
      // gone
    }
  }
  return false;
}

/** A Kafka Uuid: 16 random bytes, base64url (22 chars), never with a leading '-' (it reads as a flag). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-") && !id.startsWith("AAAAAAAAAAAAAAAAAAAAA")) return id;
  }
}

/**
 * JVM arguments for short-lived Kafka JVMs (storage format, CLI tools): small heap, C1 only,
 * the broker's class-data archive when there is one, warnings to stderr.
 */
export async function toolJvmArgs(install: KafkaInstall): Promise<string[]> {
  const log4j = path.join(install.dir, "log4j2-tools.properties");
  if (!existsSync(log4j)) {
    const lines = ["# Written by scripts/stack/kafka-install.ts.", "status = warn"];
    lines.push("appender.stderr.type = Console", "appender.stderr.name = stderr");
    lines.push("appender.stderr.target = SYSTEM_ERR", "appender.stderr.layout.type = PatternLayout");
    lines.push("appender.stderr.layout.pattern = [%d] %p %m (%c)%n", "rootLogger.level = WARN");
    lines.push("rootLogger.appenderRef.stderr.ref = stderr");
    await writeFile(`${log4j}.${process.pid}`, `${lines.join("\n")}\n`);
    await rename(`${log4j}.${process.pid}`, log4j);
  }
  const args = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"];
  args.push(`-XX:ErrorFile=${path.join(tmpdir(), "kafka-tool-hs_err_pid%p.log")}`);
  const archive = cdsArchive(install);
  if (cdsEnabled() && cdsOk(archive))
    args.push(`-XX:SharedArchiveFile=${archive}`, "-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off");
  args.push(`-Dlog4j2.configurationFile=${log4j}`, "-cp", install.classpath);
  return args;
}

/** Aliases of Kafka 4's CLI tools (their main classes), for `npm run kafka -- tool <alias>`. */
export const KAFKA_TOOLS: Record<string, string> = {
  topics: "org.apache.kafka.tools.TopicCommand",
  "console-producer": "org.apache.kafka.tools.ConsoleProducer",
  "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
  "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
  "metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
  storage: "kafka.tools.StorageTool",
};
