import type { Express } from "express";
import { serve, type Lifecycle, type RunningServer } from "../http/lifecycle.ts";
import { createHttpMetrics, type HttpMetrics } from "../http/metrics.ts";
import { createLogger, type Logger } from "../logger.ts";
import type { ServiceConfig } from "./service-config.ts";

/**
 * What a service's composition root (`compose.ts`) returns: the app and what must start
 * after the listeners open and stop when they close. main.ts serves it; the test harnesses
 * call the same composition root and serve it on port 0.
 */
export interface ComposedService {
  name: string;
  app: Express;
  logger: Logger;
  lifecycle: Lifecycle;
  metrics: HttpMetrics;
  /** Background work (workers, sweeps) started once the listeners are open. */
  start?: () => void;
  /** Called when draining begins (e.g. ending open streams so they do not hold the drain). */
  onDraining?: () => void;
  /** Stops the background work and closes the clients, after the listeners have closed. */
  close: () => Promise<void>;
  /** Extra fields for the "ready" log line (docs URL, stream URL...). */
  readyInfo?: (base: string) => Record<string, unknown>;
}

/** Opens the service's three listeners from its config, starts its background work and logs "ready". */
export async function serveService(service: ComposedService, config: ServiceConfig): Promise<RunningServer> {
  const running = await serve(service.app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger: service.logger,
    lifecycle: service.lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    ...(service.onDraining ? { onDraining: service.onDraining } : {}),
    onClose: service.close,
  });
  service.start?.();
  const base = `http://localhost:${running.port}`;
  service.logger.info(
    { url: base, ...service.readyInfo?.(base), ports: running.ports },
    `${service.name} ready`,
  );
  return running;
}

/**
 * main.ts's one statement: runs `start` and exits 1 with the reason on stderr if it fails
 * (the logger may not exist yet, e.g. on bad configuration, so this writes to stderr directly).
 */
export function runService(name: string, start: () => Promise<unknown>): void {
  start().catch((err: unknown) => {
    process.stderr.write(
      `${name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}

/** What every composition root lets a test put in place of what it builds from the config. */
export interface ServiceOverrides {
  logger?: Logger;
  metrics?: HttpMetrics;
  lifecycle?: Lifecycle;
}

/** What serviceParts builds: part of createApp's deps and of the ComposedService. */
export interface ServiceParts {
  logger: Logger;
  metrics: HttpMetrics;
  lifecycle: Lifecycle;
}

/** The logger, metrics and lifecycle every composition root starts from (each overridable). */
export function serviceParts(
  service: string,
  config: Pick<ServiceConfig, "LOG_LEVEL">,
  overrides: ServiceOverrides = {},
): ServiceParts {
  return {
    logger: overrides.logger ?? createLogger({ service, level: config.LOG_LEVEL }),
    metrics: overrides.metrics ?? createHttpMetrics(service),
    lifecycle: overrides.lifecycle ?? { draining: false },
  };
}
