import express, { type Express, type RequestHandler } from "express";
import { translateDatabaseErrors } from "../http/database-errors.ts";
import { healthRoutes, type Lifecycle, type ReadinessCheck } from "../http/lifecycle.ts";
import { onlyOn } from "../http/listener.ts";
import { methodNotAllowed } from "../http/method-not-allowed.ts";
import { createHttpMetrics, type HttpMetrics } from "../http/metrics.ts";
import { notFoundHandler, problemHandler } from "../http/problem.ts";
import { requestContext } from "../http/request-context.ts";
import type { Logger } from "../logger.ts";

/**
 * What every service's createApp is given besides its own dependencies (its deps interface
 * extends this): the logger, the lifecycle /readyz reads, and the metrics (default: a new
 * registry for the service; compose.ts passes the one serviceParts made).
 */
export interface ServiceDeps {
  logger: Logger;
  lifecycle: Lifecycle;
  metrics?: HttpMetrics;
}

export interface ServiceAppOptions extends ServiceDeps {
  /** The service's name, as in its metrics (`service` label) and logs. */
  service: string;
  /** /readyz checks (database, signing keys...); draining is always checked. */
  readiness?: Record<string, ReadinessCheck>;
  /** Express "trust proxy" hop count (TRUST_PROXY_HOPS), so req.ip is the client behind an ingress. */
  trustProxyHops?: number;
  /** Paths whose request line logs at debug (e.g. the sidecar's event deliveries, hundreds a second). */
  debugPaths?: string[];
  /** Middleware that must see the request before the request log (e.g. taking a token out of the URL). */
  beforeLog?: RequestHandler[];
  /** Middleware after the log and metrics, before the probes (helmet, CORS). */
  security?: RequestHandler[];
  /** Answers GET /dapr/subscribe on the sidecar listener with [] (subscriptions are declarative). */
  daprSubscribe?: boolean;
  /** Maps a database timeout or a lost database to 503 (the services with a database). */
  databaseErrors?: boolean;
}

export interface ServiceApp {
  app: Express;
  metrics: HttpMetrics;
}

/**
 * The Express app every taskmesh service starts from: request context and log, metrics,
 * `/healthz` and `/readyz`, `/metrics` on the operations listener only, nothing else on it,
 * and after `mount` the 405 (a known path, another method), not-found and problem+json
 * handlers. The service's own routes are added in `mount`, which sees the public and sidecar
 * listeners only.
 */
export function createServiceApp(
  options: ServiceAppOptions,
  mount: (app: Express, metrics: HttpMetrics) => void,
): ServiceApp {
  const { logger } = options;
  const metrics = options.metrics ?? createHttpMetrics(options.service);
  const app = express();
  app.disable("x-powered-by");
  // ETags are the resources' versions, set by the routes that have them; no body-hash ETags.
  app.set("etag", false);
  app.set("query parser", "simple");
  app.set("trust proxy", options.trustProxyHops ?? 0);

  for (const handler of options.beforeLog ?? []) app.use(handler);
  app.use(requestContext(logger, options.debugPaths ? { debugPaths: options.debugPaths } : {}));
  app.use(metrics.middleware);
  for (const handler of options.security ?? []) app.use(handler);
  app.use(healthRoutes(options.lifecycle, options.readiness ?? {}));
  // Prometheus scrapes the operations listener; the public and sidecar ports do not serve
  // /metrics, and the operations port serves nothing but the probes and /metrics.
  app.get("/metrics", onlyOn("operations"), metrics.handler);
  app.use(onlyOn("public", "sidecar"));
  if (options.daprSubscribe) {
    // Subscriptions are declarative (dapr-components/subscriptions.yaml); daprd still asks.
    app.get("/dapr/subscribe", onlyOn("sidecar"), (_req, res) => {
      res.json([]);
    });
  }

  mount(app, metrics);

  app.use(methodNotAllowed(app));
  app.use(notFoundHandler);
  if (options.databaseErrors) app.use(translateDatabaseErrors);
  app.use(problemHandler(logger));
  return { app, metrics };
}
