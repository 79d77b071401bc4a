import type { Request, RequestHandler } from "express";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export interface HttpMetrics {
  registry: Registry;
  /** Observes every request's duration by method, route pattern and status. */
  middleware: RequestHandler;
  /** Serves the Prometheus text format. */
  handler: RequestHandler;
}

/**
 * Route pattern, never the raw URL, so ids do not explode label cardinality. Taken when the
 * router matches a route: by the time the response finishes, an error that left a mounted
 * router has already reset req.baseUrl (a 404 from /v1/tasks/:id would read "/tasks/:id").
 */
function captureRouteLabel(req: Request): () => string {
  let label = "unmatched";
  let route: unknown;
  Object.defineProperty(req, "route", {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (typeof path === "string") label = req.baseUrl + path;
    },
  });
  return () => label;
}

export function createHttpMetrics(service: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration in seconds, by method, route and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return {
    registry,
    middleware: (req, res, next) => {
      const end = duration.startTimer();
      const routeLabel = captureRouteLabel(req);
      res.once("finish", () => {
        end({ method: req.method, route: routeLabel(), status: String(res.statusCode) });
      });
      next();
    },
    handler: (_req, res, next) => {
      registry
        .metrics()
        .then((text) => res.type(registry.contentType).send(text))
        .catch(next);
    },
  };
}
