import { createHash, timingSafeEqual } from "node:crypto";
import {
  PERSONAL_ACCESS_TOKEN_PREFIX,
  scopeFromClaim,
  type ClaimsAccessTokenVerifier,
  type TokenScope,
  type VerifiedAccessToken,
} from "@taskmesh/auth";
import {
  BadRequestError,
  ForbiddenError,
  listenerOf,
  NotFoundError,
  UnauthenticatedError,
} from "@taskmesh/core";
import { fromNodeHeaders } from "better-auth/node";
import type { Request, RequestHandler, Response } from "express";
import { userActor, type Actor } from "../domain/task-events.ts";
import type { AuthenticatedToken } from "../domain/access-token.use-cases.ts";
import type { Auth } from "./auth.ts";

/** How the request proved who it is for, and so what it may do. */
export type Credential =
  /** A Better Auth session (cookie or session token as bearer): the user, in person. */
  | { kind: "session" }
  /**
   * A JWT access token for this API. `delegated`: it carries OAuth scopes, so it was issued to a
   * client acting for the user rather than to the user's own session.
   */
  | { kind: "access-token"; scope: TokenScope; delegated: boolean }
  | { kind: "personal-access-token"; tokenId: string; scope: TokenScope }
  /**
   * A trusted service (recurring-tasks, mcp-server) acting for the user, within the scope of
   * the user's token it was shown (x-taskmesh-scope; absent = the service's own read-write).
   */
  | { kind: "service"; appId: string; scope: TokenScope };

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      userId?: string;
      /** Set when a trusted service acts for the user; otherwise the user is the actor. */
      actor?: Actor;
      credential?: Credential;
    }
  }
}

/** The user a trusted service acts for (only read from trusted callers). */
export const ON_BEHALF_OF_HEADER = "x-taskmesh-user-id";
/**
 * The scope of the user's token a trusted service acts with ("read" or "read-write"), so a
 * read-only token stays read-only through mcp-server (only read from trusted callers).
 */
export const ON_BEHALF_SCOPE_HEADER = "x-taskmesh-scope";
/** What daprd puts on every call it delivers: the token it was given, and the calling app's id. */
const APP_TOKEN_HEADER = "dapr-api-token";
const CALLER_APP_HEADER = "dapr-caller-app-id";

const REALM = 'Bearer realm="taskmesh"';
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const SAFE_METHODS = new Set(["GET", "HEAD"]);

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

/**
 * Whether a request came through this app's own sidecar: on the sidecar listener (the Dapr
 * app port on 127.0.0.1) with this app's APP_API_TOKEN. Such requests all come from the
 * sidecar's address, so a per-IP limit means nothing for them. On the public listener the
 * token proves nothing (it may have leaked): never.
 */
export function cameThroughSidecar(appApiToken: string): (req: Request) => boolean {
  const expected = digest(appApiToken);
  return (req) => {
    if (listenerOf(req) !== "sidecar") return false;
    const token = req.headers[APP_TOKEN_HEADER];
    return typeof token === "string" && timingSafeEqual(digest(token), expected);
  };
}

const SCOPES: Readonly<Record<string, TokenScope>> = { read: "read", "read-write": "read-write" };

/**
 * The trusted app that sent the request, the user it acts for and with what scope, or
 * undefined for anyone else. Only on the sidecar listener: on the public one these headers
 * are the client's own words, whatever token comes with them.
 */
function trustedCaller(
  req: Request,
  trusted: TrustedCallers,
  expectedToken: Buffer,
): { appId: string; userId: string; scope: TokenScope } | undefined {
  if (listenerOf(req) !== "sidecar") return undefined;
  const userId = req.headers[ON_BEHALF_OF_HEADER];
  const token = req.headers[APP_TOKEN_HEADER];
  const appId = req.headers[CALLER_APP_HEADER];
  if (typeof userId !== "string" || typeof token !== "string" || typeof appId !== "string") return undefined;
  // Hashing first gives equal lengths, so the comparison time says nothing about the token.
  if (!timingSafeEqual(digest(token), expectedToken)) return undefined;
  if (!trusted.appIds.includes(appId)) return undefined;
  const id = userId.trim();
  if (id.length === 0 || id.length > 200) return undefined;
  const given = req.headers[ON_BEHALF_SCOPE_HEADER];
  if (given === undefined) return { appId, userId: id, scope: "read-write" };
  const scope = typeof given === "string" ? SCOPES[given.trim()] : undefined;
  if (scope === undefined) {
    throw new BadRequestError(`${ON_BEHALF_SCOPE_HEADER} must be "read" or "read-write".`, {
      issues: [
        { pointer: `/${ON_BEHALF_SCOPE_HEADER}`, in: "header", detail: 'expected "read" or "read-write"' },
      ],
    });
  }
  return { appId, userId: id, scope };
}

/** Looks up a personal access token: the live token, or undefined (unknown, revoked, expired). */
export type PersonalAccessTokens = (secret: string) => Promise<AuthenticatedToken | undefined>;

function invalidToken(message: string, description: string): UnauthenticatedError {
  return new UnauthenticatedError(
    message,
    `${REALM}, error="invalid_token", error_description="${description}"`,
  );
}

/**
 * Every /v1 route needs a user: a JWT access token (verified locally), a personal access token
 * (tmpat_..., looked up by its hash), or a session token as bearer or cookie (looked up by Better
 * Auth). Otherwise 401 + WWW-Authenticate. A trusted service (see TrustedCallers) names the user
 * with x-taskmesh-user-id instead, and becomes the actor of what it changes; that user must exist
 * (404 otherwise). From anyone else x-taskmesh-user-id is ignored. res.locals.credential says
 * which of these it was (see requireWriteScope, requireUserInPerson).
 */
export function authenticate(
  auth: Auth,
  verifyAccessToken: ClaimsAccessTokenVerifier,
  personalAccessTokens: PersonalAccessTokens,
  trusted?: TrustedCallers,
): RequestHandler {
  const expectedToken = trusted && digest(trusted.appApiToken);
  return async (req, res, next) => {
    const caller = trusted && expectedToken && trustedCaller(req, trusted, expectedToken);
    if (caller) {
      if (!(await trusted.userExists(caller.userId))) throw new NotFoundError("User");
      res.locals.userId = caller.userId;
      res.locals.actor = { kind: "service", id: caller.appId };
      res.locals.credential = { kind: "service", appId: caller.appId, scope: caller.scope };
      next();
      return;
    }
    const header = req.headers.authorization;
    const bearer = header?.startsWith("Bearer ") ? header.slice(7).trim() : undefined;
    if (bearer?.startsWith(PERSONAL_ACCESS_TOKEN_PREFIX)) {
      const token = await personalAccessTokens(bearer);
      if (!token) {
        throw invalidToken(
          "The personal access token is invalid, expired or revoked.",
          "The token is invalid, expired or revoked",
        );
      }
      res.locals.userId = token.userId;
      res.locals.credential = { kind: "personal-access-token", tokenId: token.tokenId, scope: token.scope };
      next();
      return;
    }
    if (bearer !== undefined && JWT_SHAPE.test(bearer)) {
      let verified: VerifiedAccessToken;
      try {
        verified = await verifyAccessToken.verifyClaims(bearer);
      } catch {
        throw invalidToken(
          "The access token is invalid or expired.",
          "The access token is invalid or expired",
        );
      }
      const scope = scopeFromClaim(verified.claims.scope);
      if (scope === undefined) {
        throw invalidToken("The access token grants no taskmesh scope.", "The access token grants no scope");
      }
      res.locals.userId = verified.sub;
      // OAuth scopes mean the token was issued to a client acting for the user.
      res.locals.credential = { kind: "access-token", scope, delegated: verified.claims.scope !== undefined };
      next();
      return;
    }
    if (header !== undefined || req.headers.cookie !== undefined) {
      const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
      if (session) {
        res.locals.userId = session.user.id;
        res.locals.credential = { kind: "session" };
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

function insufficientScope(res: Response, message: string): ForbiddenError {
  res.setHeader(
    "WWW-Authenticate",
    `${REALM}, error="insufficient_scope", error_description="${message.replace(/"/g, "'")}"`,
  );
  return new ForbiddenError(message);
}

/** Read-only tokens (personal or OAuth-scoped) may only read: any other method is 403. */
export const requireWriteScope: RequestHandler = (req, res, next) => {
  const credential = res.locals.credential;
  const scope = credential && "scope" in credential ? credential.scope : "read-write";
  if (scope === "read" && !SAFE_METHODS.has(req.method)) {
    throw insufficientScope(res, "This token is read-only; use a read-write token to make changes.");
  }
  next();
};

/**
 * For what only the user in person may do (managing tokens, deleting the account): a session or
 * the session's own access token. Personal access tokens, OAuth-delegated tokens and services: 403.
 */
export const requireUserInPerson: RequestHandler = (_req, res, next) => {
  const credential = res.locals.credential;
  const inPerson =
    credential?.kind === "session" || (credential?.kind === "access-token" && !credential.delegated);
  if (!inPerson) {
    throw insufficientScope(
      res,
      "Only a signed-in session (or its access token) may do this; tokens and services may not.",
    );
  }
  next();
};
