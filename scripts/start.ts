/**
 * `npm start`: builds the services and runs them on this machine with readable,
 * service-prefixed logs, then prints where everything is and a first request to try.
 * Ctrl-C stops every process cleanly.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { buildServices } from "./build.ts";
import { SERVICE_NODE_OPTIONS } from "./service-runtime.ts";

const root = path.resolve(import.meta.dirname, "..");
const color = process.stdout.isTTY
  ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m`
  : (_: number, s: string) => s;
const LEVEL_COLORS: Record<string, number> = {
  error: 31,
  fatal: 31,
  warn: 33,
  info: 32,
  debug: 90,
  trace: 90,
};

/** pino JSON -> "12:00:01 info  message key=value" (anything else passes through). */
function formatLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const {
      time,
      level,
      msg,
      service: _s,
      pid: _p,
      hostname: _h,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const levelText = typeof level === "string" ? level : "info";
    const clock = typeof time === "string" ? time.slice(11, 19) : "";
    const extras = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    return `${clock} ${color(LEVEL_COLORS[levelText] ?? 0, levelText.padEnd(5))} ${typeof msg === "string" ? msg : JSON.stringify(msg)} ${color(90, extras)}`;
  } catch {
    return line;
  }
}

interface Service {
  name: string;
  port: number;
  env: Record<string, string>;
}

const services: Service[] = [{ name: "task-api", port: Number(process.env.PORT ?? 3000), env: {} }];
const children: ChildProcess[] = [];
const state = { stopping: false };

function run(service: Service): ChildProcess {
  const child = spawn(
    process.execPath,
    ["--enable-source-maps", path.join(root, "services", service.name, "dist/main.js")],
    {
      cwd: root,
      env: { NODE_OPTIONS: SERVICE_NODE_OPTIONS, ...process.env, ...service.env, PORT: String(service.port) },
      // A process group of its own: a terminal's Ctrl-C reaches only this launcher, which
      // stops each service in order (and a service stops what it started, e.g. its database).
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const prefix = color(36, `[${service.name}]`.padEnd(12));
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on("line", (line) => {
      console.log(`${prefix} ${formatLine(line)}`);
    });
  }
  child.on("exit", (code, signal) => {
    console.log(`${prefix} exited (${signal ?? code})`);
    if (!state.stopping) stop(code ?? 1);
  });
  return child;
}

async function waitReady(service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !state.stopping) {
    try {
      if ((await fetch(`http://localhost:${service.port}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service.name} was not ready within ${timeoutMs / 1000} s`);
}

function stop(code: number): void {
  if (state.stopping) return;
  state.stopping = true;
  console.log("stopping...");
  for (const child of children) child.kill("SIGTERM");
  const force = setTimeout(() => {
    for (const child of children) child.kill("SIGKILL");
    process.exit(code);
  }, 15_000);
  force.unref();
  void Promise.all(
    children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r)))),
  ).then(() => process.exit(code));
}

process.on("SIGINT", () => {
  stop(0);
});
// Detached children outlive an abrupt exit of the launcher unless told.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
});
process.on("SIGTERM", () => {
  stop(0);
});

console.log("building services...");
await buildServices(services.map((s) => s.name));
for (const service of services) children.push(run(service));
try {
  await Promise.all(services.map((s) => waitReady(s, 120_000)));
} catch (err) {
  console.error(String(err));
  stop(1);
}
if (!state.stopping) {
  const api = `http://localhost:${services[0]?.port ?? 3000}`;
  console.log(`
${color(1, "taskmesh is running")}
  task-api      ${api}
  API reference ${api}/docs   (OpenAPI: ${api}/openapi.json)
  health        ${api}/readyz   metrics: ${api}/metrics

Try it:
  curl -s -X POST ${api}/api/auth/sign-up/email -H 'content-type: application/json' \\
    -d '{"email":"ada@example.com","password":"correct-horse-battery","name":"Ada"}' -D - | grep -i set-auth-token
  curl -s -X POST ${api}/v1/tasks -H "authorization: Bearer <set-auth-token>" -H 'content-type: application/json' \\
    -d '{"title":"Try taskmesh","dueAt":"2026-12-01","priority":"high","tags":["first"]}'

Ctrl-C stops everything.
`);
}
