import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import readline from "node:readline";

/** One line of a process's output, as the stack captures it. */
export interface LogLine {
  /** Which process: "task-api", "task-api:dapr", "kafka", "sentry", ... */
  source: string;
  stream: "stdout" | "stderr";
  text: string;
  at: number;
}

export interface ManagedProcessOptions {
  source: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Called for every output line (the process's own log capture is separate). */
  onLine?: (line: LogLine) => void;
  /** Lines kept for logs()/failure reports. Default 5000. */
  keepLines?: number;
  /**
   * What the kernel sends the process when its launcher dies (Linux). Default SIGKILL;
   * SIGTERM for a process that must clean up after itself (e.g. stop a database it started).
   */
  parentDeathSignal?: NodeJS.Signals;
}

export interface ManagedProcess {
  readonly source: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (at once if it already has). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** The kept output lines, oldest first. */
  lines(): readonly LogLine[];
  /** The last n lines as text, for error messages. */
  tail(n?: number): string;
  /** Sends a signal (no-op once exited). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Linux: the kernel SIGKILLs the child when the process that spawned it dies, however it dies. */
const SETPRIV = "/usr/bin/setpriv";

/**
 * Spawns a long-running process whose output is captured line by line. On Linux the child
 * is started through `setpriv --pdeathsig SIGKILL`, so it cannot outlive its launcher even
 * when the launcher is killed with SIGKILL (exit hooks do not run then).
 */
export function startProcess(options: ManagedProcessOptions): ManagedProcess {
  const keep = options.keepLines ?? 5000;
  const usePdeathsig = process.platform === "linux" && existsSync(SETPRIV);
  const [command, args] = usePdeathsig
    ? [
        SETPRIV,
        ["--pdeathsig", options.parentDeathSignal ?? "SIGKILL", "--", options.command, ...options.args],
      ]
    : [options.command, [...options.args]];
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    // Own process group: a Ctrl-C in the terminal reaches only the launcher, which stops
    // everything in order (apps before their sidecars, the broker last).
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const kept: LogLine[] = [];
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once("error", (error) => {
      const line: LogLine = {
        source: options.source,
        stream: "stderr",
        text: `spawn failed: ${error.message}`,
        at: Date.now(),
      };
      kept.push(line);
      options.onLine?.(line);
      exitInfo = { code: -1, signal: null };
      resolve(exitInfo);
    });
  });
  for (const [stream, input] of [
    ["stdout", child.stdout],
    ["stderr", child.stderr],
  ] as const) {
    readline.createInterface({ input, crlfDelay: Infinity }).on("line", (text) => {
      const line: LogLine = { source: options.source, stream, text, at: Date.now() };
      kept.push(line);
      if (kept.length > keep) kept.splice(0, kept.length - keep);
      options.onLine?.(line);
    });
  }

  const managed: ManagedProcess = {
    source: options.source,
    pid: child.pid ?? -1,
    child,
    exited,
    isRunning: () => exitInfo === undefined,
    lines: () => kept,
    tail: (n = 40) =>
      kept
        .slice(-n)
        .map((l) => `  [${l.source}] ${l.text.length > 500 ? `${l.text.slice(0, 500)}…` : l.text}`)
        .join("\n"),
    signal(signal) {
      if (exitInfo !== undefined || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    },
    async stop(graceMs = 10_000) {
      if (exitInfo !== undefined) return;
      managed.signal("SIGTERM");
      const timer = setTimeout(() => {
        managed.signal("SIGKILL");
      }, graceMs);
      timer.unref();
      await exited;
      clearTimeout(timer);
    },
  };
  return managed;
}

/** Synchronous last resort for exit hooks: SIGKILL every process still running. */
export function killAllNow(processes: Iterable<ManagedProcess>): void {
  for (const p of processes) p.signal("SIGKILL");
}
