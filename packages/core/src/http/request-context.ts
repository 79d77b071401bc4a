import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { pinoHttp } from "pino-http";
import type { Logger } from "pino";
import { redactUrl } from "../logger.ts";

const SAFE_REQUEST_ID = /^[\w.:@-]{1,128}$/;

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Gives every request an id (a safe incoming X-Request-Id is kept, so ids follow a call
 * across services), echoes it, and binds a child logger carrying it and the W3C
 * traceparent that Dapr propagates. One log line per finished request: error for a failure
 * (5xx or an error), info otherwise, or debug when the path starts with one of
 * `options.debugPaths` and the request succeeded (routes the sidecar calls for every delivery).
 */
export function requestContext(
  logger: Logger,
  options: { debugPaths?: readonly string[] } = {},
): RequestHandler {
  const debugPaths = options.debugPaths ?? [];
  const http = pinoHttp({
    logger,
    genReqId: (req, res) => {
      const incoming = req.headers["x-request-id"];
      const id = typeof incoming === "string" && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customProps: (req) => {
      const traceparent = req.headers.traceparent;
      return typeof traceparent === "string" ? { traceparent } : {};
    },
    customLogLevel: (req, res, err) => {
      if (err !== undefined || res.statusCode >= 500) return "error";
      const url = req.url ?? "";
      return res.statusCode < 400 && debugPaths.some((p) => url.startsWith(p)) ? "debug" : "info";
    },
    autoLogging: { ignore: (req) => QUIET_PATHS.has((req.url ?? "").split("?")[0] ?? "") },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        // Tokens in URLs (an EventSource's ?access_token=, an OAuth ?code=) never reach the logs.
        url: redactUrl(req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
  return (req, res, next) => {
    http(req, res);
    res.locals.requestId = req.id;
    next();
  };
}
