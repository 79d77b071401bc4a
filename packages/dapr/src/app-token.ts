import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { UnauthenticatedError } from "@taskmesh/core";

/** The header daprd sends on every call to its app when APP_API_TOKEN is set. */
export const APP_TOKEN_HEADER = "dapr-api-token";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/**
 * Guards the routes only the app's own sidecar may call (event deliveries, cron ticks,
 * service invocation): the request must carry the APP_API_TOKEN daprd was started with.
 * Anything else is 401 problem+json, before the body is even parsed.
 */
export function requireAppToken(appApiToken: string): RequestHandler {
  const expected = digest(appApiToken);
  return (req, _res, next) => {
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
}
