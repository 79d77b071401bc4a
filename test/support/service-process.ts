import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Starts a built service as production runs it (node services/<service>/dist/main.js), on
 * ephemeral ports at 127.0.0.1 with info logging; `env` overrides those defaults. `base` is the
 * environment underneath (only PATH unless a test passes more, e.g. process.env).
 */
export function spawnBuiltService(
  service: string,
  env: Record<string, string>,
  base: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "" },
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [path.join(root, "services", service, "dist/main.js")], {
    cwd: root,
    env: {
      ...base,
      PORT: "0",
      APP_PORT: "0",
      OPS_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...env,
    },
  });
}

/** Collects every stdout and stderr line of a child process, in arrival order. */
export function collectLines(child: ChildProcessWithoutNullStreams): string[] {
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout }).on("line", (line) => lines.push(line));
  readline.createInterface({ input: child.stderr }).on("line", (line) => lines.push(line));
  return lines;
}
