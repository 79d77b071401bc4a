import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { SERVICE_NODE_OPTIONS } from "../service-runtime.ts";
import { REPO_ROOT } from "./paths.ts";
import { startProcess, type LogLine, type ManagedProcess } from "./process.ts";
import { httpGet, waitUntil } from "./wait.ts";

/** The agreed default public ports (the brief's conventions); a new service gets the next free one. */
export const DEFAULT_APP_PORTS: Readonly<Record<string, number>> = {
  "task-api": 3000,
  "mcp-server": 3001,
  notifications: 3002,
  "audit-log": 3003,
  "recurring-tasks": 3004,
};

/** A service's Dapr app port (APP_PORT, on 127.0.0.1) is its public port + 100. */
export const SIDECAR_PORT_OFFSET = 100;
/** Its operations port (OPS_PORT: /healthz, /readyz, /metrics) is its public port + 200. */
export const OPS_PORT_OFFSET = 200;

/** Every service in services/* that has a src/main.ts, task-api first, then by name. */
export async function listServices(): Promise<string[]> {
  const entries = await readdir(path.join(REPO_ROOT, "services"), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && existsSync(path.join(REPO_ROOT, "services", e.name, "src/main.ts")))
    .map((e) => e.name)
    .sort((a, b) => (a === "task-api" ? -1 : b === "task-api" ? 1 : a.localeCompare(b)));
}

/** The bundle `npm run build` writes for a service. */
export function serviceBundle(name: string): string {
  return path.join(REPO_ROOT, "services", name, "dist/main.js");
}

export interface AppSpec {
  name: string;
  /** The public listener (PORT). */
  port: number;
  /** The Dapr app port daprd calls (APP_PORT, 127.0.0.1). */
  sidecarPort: number;
  /** Probes and /metrics (OPS_PORT). */
  opsPort: number;
  /** The whole environment of the process (see stack.ts for what it holds). */
  env: Record<string, string>;
  onLine?: (line: LogLine) => void;
}

/** `node dist/main.js` as a container runs it, with the project's Node options. */
export function startApp(spec: AppSpec): ManagedProcess {
  return startProcess({
    source: spec.name,
    command: process.execPath,
    args: ["--enable-source-maps", serviceBundle(spec.name)],
    cwd: REPO_ROOT,
    env: {
      NODE_OPTIONS: SERVICE_NODE_OPTIONS,
      ...spec.env,
      PORT: String(spec.port),
      APP_PORT: String(spec.sidecarPort),
      OPS_PORT: String(spec.opsPort),
    },
    ...(spec.onLine ? { onLine: spec.onLine } : {}),
  });
}

/** Waits until GET /readyz answers 2xx. */
export async function waitAppReady(options: {
  url: string;
  timeoutMs: number;
  abortIf?: () => string | undefined;
}): Promise<void> {
  await waitUntil(
    `${options.url}/readyz`,
    async () => {
      const res = await httpGet(`${options.url}/readyz`);
      if (res.ok) return true;
      throw new Error(`GET /readyz: ${res.status}`);
    },
    {
      timeoutMs: options.timeoutMs,
      intervalMs: 150,
      ...(options.abortIf ? { abortIf: options.abortIf } : {}),
    },
  );
}
