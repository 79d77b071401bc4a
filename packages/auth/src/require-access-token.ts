import { UnauthenticatedError, UnavailableError } from "@taskmesh/core";
import type { RequestHandler, Response } from "express";
import type { AccessTokenVerifier } from "./access-token-verifier.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      userId?: string;
    }
  }
}

/** The WWW-Authenticate challenge of every taskmesh API (RFC 6750). */
export const BEARER_REALM = 'Bearer realm="taskmesh"';

/** The authenticated user's id; only call behind an authenticating middleware. */
export function currentUserId(res: Response): string {
  const id = res.locals.userId;
  if (id === undefined) throw new Error("currentUserId used on an unauthenticated route");
  return id;
}

/**
 * For services other than task-api: the request must carry task-api's JWT access token as
 * `Authorization: Bearer <token>`, verified locally. Otherwise 401 problem+json with
 * WWW-Authenticate. When the keys cannot be loaded (task-api or the sidecar down), 503: the
 * token may be fine, so the client should retry rather than sign in again.
 */
export function requireAccessToken(verify: AccessTokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (bearer === undefined || bearer === "") {
      throw new UnauthenticatedError("Send Authorization: Bearer <access token>.", BEARER_REALM);
    }
    try {
      res.locals.userId = await verify(bearer);
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new UnauthenticatedError(
        "The access token is invalid or expired.",
        `${BEARER_REALM}, error="invalid_token", error_description="The access token is invalid or expired"`,
      );
    }
    next();
  };
}
