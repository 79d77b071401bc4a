import { UnauthenticatedError } from "@taskmesh/core";
import { fromNodeHeaders } from "better-auth/node";
import type { RequestHandler, Response } from "express";
import type { Auth } from "./auth.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      userId?: string;
    }
  }
}

const REALM = 'Bearer realm="taskmesh"';
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** The authenticated user's id; only call behind `authenticate`. */
export function currentUserId(res: Response): string {
  const id = res.locals.userId;
  if (id === undefined) throw new Error("currentUserId used on an unauthenticated route");
  return id;
}

/**
 * Every /v1 route needs a user: a JWT access token (verified locally), or a session
 * token as bearer or cookie (looked up by Better Auth). Otherwise 401 + WWW-Authenticate.
 */
export function authenticate(
  auth: Auth,
  verifyAccessToken: (token: string) => Promise<string>,
): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (bearer !== undefined && JWT_SHAPE.test(bearer)) {
      try {
        res.locals.userId = await verifyAccessToken(bearer);
      } catch {
        throw new UnauthenticatedError(
          "The access token is invalid or expired.",
          `${REALM}, error="invalid_token", error_description="The access token is invalid or expired"`,
        );
      }
      next();
      return;
    }
    if (header !== undefined || req.headers.cookie !== undefined) {
      const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
      if (session) {
        res.locals.userId = session.user.id;
        next();
        return;
      }
      throw new UnauthenticatedError(
        "The session token is invalid or expired.",
        `${REALM}, error="invalid_token", error_description="The session is invalid or expired"`,
      );
    }
    throw new UnauthenticatedError("Sign in and send Authorization: Bearer <token>.", REALM);
  };
}
