import { PERSONAL_ACCESS_TOKEN_PREFIX } from "@taskmesh/auth";
import { ForbiddenError, jsonBody, parseBody } from "@taskmesh/core";
import { requireAppToken } from "@taskmesh/dapr";
import express, { type RequestHandler, type Router } from "express";
import { z } from "zod";
import type { AccessTokenUseCases } from "../domain/access-token.use-cases.ts";

const CALLER_APP_HEADER = "dapr-caller-app-id";

const introspectBody = z.object({ token: z.string().min(1).max(4096) });

/** Only the listed apps (dapr-caller-app-id as this app's sidecar reports it) may call; 403 otherwise. */
function requireCallerApp(appIds: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    const caller = req.headers[CALLER_APP_HEADER];
    if (typeof caller !== "string" || !appIds.includes(caller)) {
      throw new ForbiddenError("This app may not introspect tokens.");
    }
    next();
  };
}

export interface IntrospectionOptions {
  /** This app's APP_API_TOKEN: proves the call came through task-api's own sidecar. */
  appApiToken: string;
  /** Apps that may introspect (default in config: mcp-server, notifications). */
  callerAppIds: readonly string[];
  /**
   * Looks up a session token (what sign-up and sign-in hand out as `set-auth-token`): its user
   * and expiry, or undefined. Absent = session tokens are `{active:false}`.
   */
  sessions?: (token: string) => Promise<{ userId: string; expiresAt: Date } | undefined>;
}

/**
 * POST /internal/tokens/introspect (RFC 7662 semantics, JSON body {token}): lets a resource server
 * (mcp-server, notifications) check a personal access token, or a session token, without ever
 * reading the token or session tables. A session is the user in person: scope read-write. Answers
 * {active:false} for anything unusable, {active, sub, scope, exp, tokenId, token_type} otherwise.
 * Only through this app's sidecar (app token: 401 otherwise) from an allowed app (403 otherwise).
 */
export function introspectionRoutes(tokens: AccessTokenUseCases, options: IntrospectionOptions): Router {
  const router = express.Router();
  router.post(
    "/internal/tokens/introspect",
    requireAppToken(options.appApiToken),
    requireCallerApp(options.callerAppIds),
    jsonBody({ limit: "8kb" }),
    async (req, res) => {
      const { token } = parseBody(introspectBody, req);
      res.setHeader("Cache-Control", "no-store");
      if (token.startsWith(PERSONAL_ACCESS_TOKEN_PREFIX) || !options.sessions) {
        res.json(await tokens.introspect(token));
        return;
      }
      const session = await options.sessions(token);
      res.json(
        session
          ? {
              active: true,
              sub: session.userId,
              scope: "read-write",
              exp: Math.floor(session.expiresAt.getTime() / 1000),
              token_type: "session",
            }
          : { active: false },
      );
    },
  );
  return router;
}
