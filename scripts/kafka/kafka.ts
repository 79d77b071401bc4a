/**
 * `npm run kafka`: the broker of `npm start` on its own, one Apache Kafka node (KRaft) in the
 * foreground until Ctrl-C, through the same launcher (scripts/stack/kafka.ts).
 *
 *   npm run kafka                                   127.0.0.1:9092, data in .data/kafka
 *   npm run kafka -- --port 19092 --data-dir /tmp/k --partitions 6 --heap 512m
 *   npm run kafka -- install                        install once (prints the install dir)
 *   npm run kafka -- tool <alias|main class> [args] Kafka's CLI tools (see scripts/kafka/README.md)
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { KAFKA_TOOLS, kafkaInstall, toolJvmArgs } from "../stack/kafka-install.ts";
import { startKafka } from "../stack/kafka.ts";
import { REPO_ROOT } from "../stack/paths.ts";

const log = (message: string): void => {
  console.error(`[kafka] ${message}`);
};

async function tool(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name) throw new Error("usage: npm run kafka -- tool <alias|main class> [args...]");
  const install = await kafkaInstall(log);
  const child = spawn(install.java, [...(await toolJvmArgs(install)), KAFKA_TOOLS[name] ?? name, ...rest], {
    stdio: "inherit",
  });
  return new Promise((resolve) => {
    child.once("close", (code) => {
      resolve(code ?? 1);
    });
  });
}

async function broker(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      "data-dir": { type: "string", default: path.join(REPO_ROOT, ".data/kafka") },
      port: { type: "string", default: "9092" },
      "controller-port": { type: "string" },
      partitions: { type: "string", default: "6" },
      heap: { type: "string", default: "512m" },
    },
  });
  const number = (name: string, value: string): number => {
    if (!/^[1-9]\d*$/.test(value)) throw new Error(`--${name} must be a positive integer, got '${value}'`);
    return Number(value);
  };
  if (!/^\d+[kKmMgG]$/.test(values.heap)) throw new Error(`bad --heap '${values.heap}' (e.g. 512m)`);
  const port = number("port", values.port);
  const started = Date.now();
  const kafka = await startKafka({
    dataDir: values["data-dir"],
    port,
    ...(values["controller-port"]
      ? { controllerPort: number("controller-port", values["controller-port"]) }
      : {}),
    partitions: number("partitions", values.partitions),
    heap: values.heap,
    log,
    onLine: (line) => {
      console.error(`  ${line.text}`);
    },
    timeoutMs: 120_000,
  });
  log(
    `ready on ${kafka.brokers} in ${((Date.now() - started) / 1000).toFixed(1)}s, data in ${values["data-dir"]}; Ctrl-C stops it`,
  );
  const stop = (): void => {
    log("stopping (controlled shutdown)");
    void kafka.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const { code, signal } = await kafka.process().exited;
  log(`the broker exited (${signal ?? code ?? "?"}); logs in ${path.join(values["data-dir"], "logs")}`);
  process.exit(1);
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "install") console.log((await kafkaInstall(log)).dir);
  else if (command === "tool") process.exitCode = await tool(rest);
  else await broker(process.argv.slice(2));
} catch (error) {
  log(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
