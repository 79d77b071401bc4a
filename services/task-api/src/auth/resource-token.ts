import { OAUTH_SCOPES } from "@taskmesh/auth";
import { BadRequestError, UnauthenticatedError } from "@taskmesh/core";
import { fromNodeHeaders } from "better-auth/node";
import type { RequestHandler } from "express";
import type { Auth } from "./auth.ts";

/** How long a resource-bound access token lives (as the REST API's own access tokens). */
const RESOURCE_TOKEN_TTL_SECONDS = 15 * 60;
const SCOPE_VALUES = new Set([OAUTH_SCOPES.read, OAUTH_SCOPES.write]);

/**
 * `GET /api/auth/token?resource=<uri>[&scope=tasks:read]` (RFC 8707 resource indicator): for a
 * signed-in user (session cookie or session token), a JWT access token whose `aud` is that
 * resource, e.g. the MCP server's canonical URL, instead of this API's "taskmesh". Only the
 * configured resources may be named (400 invalid_target otherwise). Such a token is refused here
 * (wrong audience), and this API's own tokens are refused by the resource. The token carries the
 * OAuth scopes (default tasks:read tasks:write), so it is a delegated token wherever it goes.
 * Without `resource`, Better Auth's own /token answers as before.
 */
export function resourceTokenRoute(auth: Auth, resources: readonly string[]): RequestHandler {
  return async (req, res, next) => {
    const resource = req.query.resource;
    if (resource === undefined) {
      next();
      return;
    }
    if (typeof resource !== "string" || !resources.includes(resource)) {
      throw new BadRequestError("resource names no protected resource of this server.", {
        issues: [
          {
            pointer: "/resource",
            in: "query",
            detail: `must be one of: ${resources.join(", ") || "(none)"}`,
          },
        ],
        extensions: { error: "invalid_target" },
      });
    }
    const scopeParam = req.query.scope;
    const scopes =
      typeof scopeParam === "string" ? scopeParam.split(" ") : [OAUTH_SCOPES.read, OAUTH_SCOPES.write];
    if (
      (scopeParam !== undefined && typeof scopeParam !== "string") ||
      !scopes.every((s) => SCOPE_VALUES.has(s as typeof OAUTH_SCOPES.read))
    ) {
      throw new BadRequestError(
        `scope must be "${OAUTH_SCOPES.read}" or "${OAUTH_SCOPES.read} ${OAUTH_SCOPES.write}".`,
        {
          issues: [{ pointer: "/scope", in: "query", detail: "names an unknown scope" }],
          extensions: { error: "invalid_scope" },
        },
      );
    }
    const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
    if (!session) {
      throw new UnauthenticatedError(
        "Sign in first: a resource token is issued for a session.",
        'Bearer realm="taskmesh"',
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const { token } = await auth.api.signJWT({
      body: {
        payload: {
          sub: session.user.id,
          aud: resource,
          scope: [...new Set(scopes)].join(" "),
          iat: now,
          exp: now + RESOURCE_TOKEN_TTL_SECONDS,
        },
      },
    });
    res.setHeader("Cache-Control", "no-store");
    res.json({ token, token_type: "Bearer", expires_in: RESOURCE_TOKEN_TTL_SECONDS, resource });
  };
}
