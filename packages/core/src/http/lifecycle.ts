import type { Server } from "node:http";
import type { Express, Router } from "express";
import express from "express";
import type { Logger } from "pino";
import { boundPort, listenOn, type ListenerName } from "./listener.ts";
import { sendProblem } from "./problem.ts";

/** Shared between the readiness probe and the shutdown sequence. */
export interface Lifecycle {
  draining: boolean;
}

export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`));
    }, CHECK_TIMEOUT_MS);
    check()
      .then(resolve, reject)
      .finally(() => {
        clearTimeout(timer);
      });
  });
}

/** /healthz: the process is alive. /readyz: every dependency answers and we are not draining. */
export function healthRoutes(lifecycle: Lifecycle, checks: Record<string, ReadinessCheck>): Router {
  const router = express.Router();
  router.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/readyz", async (req, res) => {
    // Probes read the status; a person who opens /readyz reads what to do (and never why a check
    // failed: that is in the log).
    if (lifecycle.draining) {
      res.setHeader("Retry-After", "1");
      sendProblem(
        res,
        "unavailable",
        "Shutting down; try again in a few seconds (another replica will answer).",
      );
      return;
    }
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check);
          return [name, "ok"] as const;
        } catch (err) {
          // The reason is logged, never answered: driver errors carry hosts, SQL or user names.
          // (req.log is missing when requestContext is not mounted.)
          (req.log as Logger | undefined)?.warn({ err, check: name }, "readiness check failed");
          return [name, "failed"] as const;
        }
      }),
    );
    const failed = results.filter(([, status]) => status !== "ok");
    if (failed.length > 0) {
      res.setHeader("Retry-After", "2");
      sendProblem(
        res,
        "unavailable",
        `Not ready (${failed.map(([n]) => n).join(", ")}); try again in a few seconds.`,
        {
          extensions: { checks: Object.fromEntries(results) },
        },
      );
      return;
    }
    res.json({ status: "ready", checks: Object.fromEntries(results) });
  });
  return router;
}

export interface ListenerAddress {
  port: number;
  host?: string;
}

export interface ServeOptions {
  /** The public listener (Service port, Ingress). */
  port: number;
  host?: string;
  /**
   * The Dapr app port (daprd's --app-port): sidecar routes and trusted-caller identity.
   * Bound to 127.0.0.1 unless a host is given; absent = no sidecar listener.
   */
  sidecar?: ListenerAddress;
  /** /healthz, /readyz and /metrics for probes and Prometheus (host default 0.0.0.0). */
  operations?: ListenerAddress;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Closes clients (database pools...) after in-flight requests have drained. */
  onClose: () => Promise<void>;
  /**
   * Called as soon as shutdown starts: end long-lived responses (server-sent event streams)
   * here, or the drain would wait for them until the shutdown timeout.
   */
  onDraining?: () => void;
  /** Time to keep serving after readiness turns 503, so load balancers stop routing here. */
  drainDelayMs?: number;
  /** Hard limit for the whole shutdown. */
  shutdownTimeoutMs?: number;
}

export interface RunningServer {
  /** The public listener. */
  server: Server;
  port: number;
  /** Every listener, by name (the ones configured). */
  servers: Partial<Record<ListenerName, Server>>;
  ports: Partial<Record<ListenerName, number>>;
  /** Runs the same graceful sequence as SIGTERM. */
  shutdown: (reason: string) => Promise<void>;
}

/** How often a draining server closes the connections that have gone idle since. */
const IDLE_SWEEP_MS = 50;

/**
 * Listens on the public port and, when configured, the sidecar and operations ports (one app,
 * each connection recorded with its listener: see onlyOn), and installs SIGTERM/SIGINT
 * handling: 503 readiness, stop accepting on every listener, drain, close clients.
 */
export async function serve(app: Express, options: ServeOptions): Promise<RunningServer> {
  const { logger, lifecycle } = options;
  const wanted: [ListenerName, string, number][] = [["public", options.host ?? "0.0.0.0", options.port]];
  if (options.sidecar) wanted.push(["sidecar", options.sidecar.host ?? "127.0.0.1", options.sidecar.port]);
  if (options.operations)
    wanted.push(["operations", options.operations.host ?? "0.0.0.0", options.operations.port]);
  const servers: Partial<Record<ListenerName, Server>> = {};
  try {
    for (const [name, host, port] of wanted) servers[name] = await listenOn(app, name, port, host);
  } catch (err) {
    // One port taken: release the others, or the process could not exit cleanly.
    await Promise.all(Object.values(servers).map((s) => new Promise((resolve) => s.close(resolve))));
    throw err;
  }
  const ports = Object.fromEntries(
    Object.entries(servers).map(([name, s]) => [name, boundPort(s)]),
  ) as Partial<Record<ListenerName, number>>;
  const server = servers.public;
  // Unreachable: it is opened first, and a failure has thrown above.
  if (!server) throw new Error("the public listener did not open");
  const port = ports.public ?? options.port;

  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      logger.info({ reason }, "shutting down");
      lifecycle.draining = true;
      options.onDraining?.();
      const force = setTimeout(() => {
        logger.error("shutdown timed out, exiting");
        process.exit(1);
      }, options.shutdownTimeoutMs ?? 10_000);
      force.unref();
      if (options.drainDelayMs) await new Promise((r) => setTimeout(r, options.drainDelayMs));
      // close() ends the connections that are idle now. One busy with a request stays
      // keep-alive after its response (Node does not close it), and a caller that keeps
      // using it (daprd's app channel and health checks) holds the close open until the
      // shutdown timeout: sweep the idle ones until none is left, on every listener.
      await Promise.all(
        Object.values(servers).map(
          (s) =>
            new Promise<void>((resolve) => {
              const sweep = setInterval(() => {
                s.closeIdleConnections();
              }, IDLE_SWEEP_MS);
              s.close(() => {
                clearInterval(sweep);
                resolve();
              });
              s.closeIdleConnections();
            }),
        ),
      );
      await options.onClose();
      logger.info("stopped");
    })();
    return closing;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  return { server, port, servers, ports, shutdown };
}
