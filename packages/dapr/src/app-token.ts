import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { listenerOf, markListenerGuard, notFoundHandler, UnauthenticatedError } from "@taskmesh/core";

/** The header daprd sends on every call to its app when APP_API_TOKEN is set. */
export const APP_TOKEN_HEADER = "dapr-api-token";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/**
 * Guards the routes only the app's own sidecar may call (event deliveries, cron ticks,
 * service invocation): they exist only on the sidecar listener (the Dapr app port on
 * 127.0.0.1; elsewhere 404 like an unknown route), and the request must carry the
 * APP_API_TOKEN daprd was started with (401 problem+json otherwise), before the body is read.
 */
export function requireAppToken(appApiToken: string): RequestHandler {
  const expected = digest(appApiToken);
  const guard: RequestHandler = (req, res, next) => {
    if (listenerOf(req) !== "sidecar") {
      notFoundHandler(req, res, next);
      return;
    }
    const given = req.headers[APP_TOKEN_HEADER];
    // Hashing first gives equal lengths, so the comparison time says nothing about the token.
    if (typeof given !== "string" || !timingSafeEqual(digest(given), expected)) {
      next(
        new UnauthenticatedError(
          "This route is only for the Dapr sidecar: dapr-api-token is missing or wrong.",
          `DaprApiToken realm="sidecar"`,
        ),
      );
      return;
    }
    next();
  };
  return markListenerGuard(guard, ["sidecar"]);
}
