import { createHash, timingSafeEqual } from "node:crypto";
import { NotFoundError, UnauthenticatedError } from "@taskmesh/core";
import { fromNodeHeaders } from "better-auth/node";
import type { Request, RequestHandler, Response } from "express";
import { userActor, type Actor } from "../domain/task-events.ts";
import type { Auth } from "./auth.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      userId?: string;
      /** Set when a trusted service acts for the user; otherwise the user is the actor. */
      actor?: Actor;
    }
  }
}

/** The user a trusted service acts for (only read from trusted callers). */
export const ON_BEHALF_OF_HEADER = "x-taskmesh-user-id";
/** What daprd puts on every call it delivers: the token it was given, and the calling app's id. */
const APP_TOKEN_HEADER = "dapr-api-token";
const CALLER_APP_HEADER = "dapr-caller-app-id";

const REALM = 'Bearer realm="taskmesh"';
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** The authenticated user's id; only call behind `authenticate`. */
export function currentUserId(res: Response): string {
  const id = res.locals.userId;
  if (id === undefined) throw new Error("currentUserId used on an unauthenticated route");
  return id;
}

/** Who made the change a request asks for: the user, or the trusted service acting for them. */
export function currentActor(res: Response): Actor {
  return res.locals.actor ?? userActor(currentUserId(res));
}

/** The app id of the trusted service acting for the user, if one is. */
export function actingService(res: Response): string | undefined {
  return res.locals.actor?.kind === "service" ? res.locals.actor.id : undefined;
}

/**
 * Services that may act for a user. A request is theirs when it carries this app's own
 * APP_API_TOKEN (so it came through this app's sidecar, which alone knows it) and the
 * sidecar names one of `appIds` as the caller (`dapr-caller-app-id`; with mTLS, daprd
 * derives it from the caller's certificate).
 */
export interface TrustedCallers {
  appApiToken: string;
  appIds: readonly string[];
  userExists: (userId: string) => Promise<boolean>;
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** The trusted app that sent the request and the user it acts for, or undefined for anyone else. */
function trustedCaller(
  req: Request,
  trusted: TrustedCallers,
  expectedToken: Buffer,
): { appId: string; userId: string } | undefined {
  const userId = req.headers[ON_BEHALF_OF_HEADER];
  const token = req.headers[APP_TOKEN_HEADER];
  const appId = req.headers[CALLER_APP_HEADER];
  if (typeof userId !== "string" || typeof token !== "string" || typeof appId !== "string") return undefined;
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  if (!timingSafeEqual(digest(token), expectedToken)) return undefined;
  if (!trusted.appIds.includes(appId)) return undefined;
  const id = userId.trim();
  return id.length > 0 && id.length <= 200 ? { appId, userId: id } : undefined;
}

/**
 * Every /v1 route needs a user: a JWT access token (verified locally), or a session
 * token as bearer or cookie (looked up by Better Auth). Otherwise 401 + WWW-Authenticate.
 * A trusted service (see TrustedCallers) names the user with x-taskmesh-user-id instead, and
 * becomes the actor of what it changes; that user must exist (404 otherwise). From anyone
 * else x-taskmesh-user-id is ignored.
 */
export function authenticate(
  auth: Auth,
  verifyAccessToken: (token: string) => Promise<string>,
  trusted?: TrustedCallers,
): RequestHandler {
  const expectedToken = trusted && digest(trusted.appApiToken);
  return async (req, res, next) => {
    const caller = trusted && expectedToken && trustedCaller(req, trusted, expectedToken);
    if (caller) {
      if (!(await trusted.userExists(caller.userId))) throw new NotFoundError("User");
      res.locals.userId = caller.userId;
      res.locals.actor = { kind: "service", id: caller.appId };
      next();
      return;
    }
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
