import { COMPONENTS_DIR, REPO_ROOT } from "./paths.ts";
import { startProcess, type LogLine, type ManagedProcess } from "./process.ts";
import { httpGet, waitUntil } from "./wait.ts";
import type { ExpectedSubscription } from "./components.ts";

export interface SidecarPorts {
  http: number;
  grpc: number;
  internalGrpc: number;
  metrics: number;
}

export interface SidecarSpec {
  binary: string;
  appId: string;
  appPort: number;
  ports: SidecarPorts;
  /** The stack's copy of configuration.yaml (own name-resolution database). */
  configFile: string;
  resourcesPath?: string;
  /** daprd --log-level: debug, info, warn, error. */
  logLevel: string;
  /** With Sentry: mTLS between sidecars, SPIFFE identities, access control. */
  mtls?: { sentryAddress: string; trustAnchors: string };
  /** Environment of daprd itself (KAFKA_BROKERS, tokens, TASKMESH_SECRET_*). */
  env: Record<string, string>;
  onLine?: (line: LogLine) => void;
}

/** The command line, as `dapr run` would build it, with every listener on loopback. */
export function daprdArgs(spec: SidecarSpec): string[] {
  const args = [
    "--mode",
    "standalone",
    "--app-id",
    spec.appId,
    "--app-port",
    String(spec.appPort),
    "--app-protocol",
    "http",
    "--dapr-http-port",
    String(spec.ports.http),
    "--dapr-grpc-port",
    String(spec.ports.grpc),
    "--dapr-internal-grpc-port",
    String(spec.ports.internalGrpc),
    "--metrics-port",
    String(spec.ports.metrics),
    "--dapr-listen-addresses",
    "127.0.0.1",
    "--dapr-internal-grpc-listen-address",
    "127.0.0.1",
    "--metrics-listen-address",
    "127.0.0.1",
    "--resources-path",
    spec.resourcesPath ?? COMPONENTS_DIR,
    "--config",
    spec.configFile,
    "--enable-app-health-check",
    "--app-health-check-path",
    "/healthz",
    "--log-level",
    spec.logLevel,
  ];
  // No placement or scheduler: leaving their addresses unset disables them (no actors,
  // workflows or Jobs API in taskmesh).
  if (spec.mtls) args.push("--enable-mtls", "--sentry-address", spec.mtls.sentryAddress);
  return args;
}

/** daprd's environment: only what it needs, never the launcher's DAPR_* or scheduler settings. */
export function daprdEnv(spec: SidecarSpec): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    ...(spec.mtls ? { DAPR_TRUST_ANCHORS: spec.mtls.trustAnchors } : {}),
    ...spec.env,
  };
}

export function startDaprd(spec: SidecarSpec): ManagedProcess {
  return startProcess({
    source: `${spec.appId}:dapr`,
    command: spec.binary,
    args: daprdArgs(spec),
    cwd: REPO_ROOT,
    env: daprdEnv(spec),
    ...(spec.onLine ? { onLine: spec.onLine } : {}),
  });
}

interface SidecarMetadata {
  subscriptions?: { pubsubname: string; topic: string; deadLetterTopic?: string }[];
}

/**
 * Waits until the sidecar is healthy (GET /v1.0/healthz: components loaded, app reachable)
 * and runs every subscription that subscriptions.yaml gives its app (GET /v1.0/metadata).
 */
export async function waitSidecarReady(options: {
  url: string;
  apiToken: string;
  subscriptions: readonly ExpectedSubscription[];
  timeoutMs: number;
  abortIf?: () => string | undefined;
}): Promise<void> {
  const headers = { "dapr-api-token": options.apiToken };
  const common = {
    timeoutMs: options.timeoutMs,
    intervalMs: 150,
    ...(options.abortIf ? { abortIf: options.abortIf } : {}),
  };
  await waitUntil(
    `sidecar ${options.url} healthy`,
    async () => {
      const res = await httpGet(`${options.url}/v1.0/healthz`, headers);
      if (res.ok) return true;
      throw new Error(`GET /v1.0/healthz: ${res.status}`);
    },
    common,
  );
  if (options.subscriptions.length === 0) return;
  await waitUntil(
    `sidecar ${options.url} subscribed to ${options.subscriptions.map((s) => s.topic).join(", ")}`,
    async () => {
      const res = await httpGet(`${options.url}/v1.0/metadata`, headers);
      if (!res.ok) throw new Error(`GET /v1.0/metadata: ${res.status}`);
      const meta = (await res.json()) as SidecarMetadata;
      const have = meta.subscriptions ?? [];
      const missing = options.subscriptions.filter(
        (want) => !have.some((s) => s.pubsubname === want.pubsubname && s.topic === want.topic),
      );
      if (missing.length === 0) return true;
      throw new Error(`missing ${missing.map((m) => m.topic).join(", ")}`);
    },
    common,
  );
}
