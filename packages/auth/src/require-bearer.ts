import { ForbiddenError, UnauthenticatedError, UnavailableError } from "@taskmesh/core";
import type { RequestHandler, Response } from "express";
import type { BearerIdentity, BearerVerifier, TokenScope } from "./bearer-verifier.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      userId?: string;
      /** Set by requireBearer: who the bearer token stands for and what it may do. */
      bearer?: BearerIdentity;
    }
  }
}

export interface RequireBearerOptions {
  /**
   * RFC 9728 protected-resource metadata URL (e.g. http://localhost:3001/.well-known/oauth-protected-resource):
   * every 401/403 challenge names it as `resource_metadata`, as the MCP authorization spec requires.
   */
  resourceMetadataUrl?: string;
  /** Default "taskmesh". */
  realm?: string;
  /** Scopes a client should ask for, sent as `scope` in the challenge (e.g. "tasks:read tasks:write"). */
  scope?: string;
}

/** True when a token of scope `granted` may do what needs `needed`. */
export function scopeAllows(granted: TokenScope, needed: TokenScope): boolean {
  return needed === "read" || granted === "read-write";
}

/** The WWW-Authenticate value for a 401 (error = undefined: no token sent) or a 403 insufficient_scope. */
export function bearerChallenge(
  options: RequireBearerOptions,
  error?: { code: "invalid_token" | "insufficient_scope"; description: string; scope?: string },
): string {
  const params = [`realm="${options.realm ?? "taskmesh"}"`];
  if (options.resourceMetadataUrl !== undefined)
    params.push(`resource_metadata="${options.resourceMetadataUrl}"`);
  const scope = error?.scope ?? options.scope;
  if (scope !== undefined) params.push(`scope="${scope}"`);
  if (error) params.push(`error="${error.code}"`, `error_description="${error.description}"`);
  return `Bearer ${params.join(", ")}`;
}

/**
 * Requires `Authorization: Bearer <token>` verified by `verify` (createBearerVerifier): sets
 * res.locals.bearer and res.locals.userId. No token or an invalid one: 401 problem+json with a
 * WWW-Authenticate challenge (RFC 6750, with resource_metadata per RFC 9728). Keys or
 * introspection unreachable: 503 (the token may be fine).
 */
export function requireBearer(verify: BearerVerifier, options: RequireBearerOptions = {}): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const token = /^bearer /i.test(header ?? "") ? header?.slice(7).trim() : undefined;
    if (token === undefined || token === "") {
      throw new UnauthenticatedError("Send Authorization: Bearer <token>.", bearerChallenge(options));
    }
    let identity: BearerIdentity;
    try {
      identity = await verify(token);
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new UnauthenticatedError(
        "The bearer token is invalid, expired, revoked or not meant for this server.",
        bearerChallenge(options, { code: "invalid_token", description: "The token is invalid or expired" }),
      );
    }
    res.locals.bearer = identity;
    res.locals.userId = identity.userId;
    next();
  };
}

/** The identity requireBearer set; only call behind it. */
export function currentBearer(res: Response): BearerIdentity {
  const bearer = res.locals.bearer;
  if (bearer === undefined) throw new Error("currentBearer used on a route without requireBearer");
  return bearer;
}

/**
 * Throws 403 (with an insufficient_scope challenge on the response) when the request's token may
 * not do what needs `needed`; e.g. a read-only token on a write.
 */
export function requireScope(res: Response, needed: TokenScope, options: RequireBearerOptions = {}): void {
  const bearer = currentBearer(res);
  if (scopeAllows(bearer.scope, needed)) return;
  res.setHeader(
    "WWW-Authenticate",
    bearerChallenge(options, {
      code: "insufficient_scope",
      description: "This token is read-only",
      scope: "tasks:read tasks:write",
    }),
  );
  throw new ForbiddenError("This token is read-only; this call needs a read-write token.");
}
