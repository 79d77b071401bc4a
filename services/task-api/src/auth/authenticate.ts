import { UnauthenticatedError } from "@taskmesh/core";
import { fromNodeHeaders } from "better-auth/node";
import type { RequestHandler, Response } from "express";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
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
const JWKS_REFRESH_MS = 30_000;

/** The authenticated user's id; only call behind `authenticate`. */
export function currentUserId(res: Response): string {
  const id = res.locals.userId;
  if (id === undefined) throw new Error("currentUserId used on an unauthenticated route");
  return id;
}

const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Verifies access tokens locally with the JWKS (no database round trip per request).
 * An unknown key id reloads the key set, at most every 30 s, so rotated keys are picked up.
 * Verified tokens are remembered until their `exp` (bounded, oldest evicted first): a
 * client reuses one token for its whole lifetime, and the signature cannot change.
 */
export function createAccessTokenVerifier(options: {
  loadJwks: () => Promise<JSONWebKeySet>;
  issuer: string;
  audience: string;
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let loadedAt = 0;
  const verified = new Map<string, { sub: string; expiresAt: number }>();

  async function reload(): Promise<ReturnType<typeof createLocalJWKSet>> {
    keys = createLocalJWKSet(await options.loadJwks());
    loadedAt = now();
    return keys;
  }
  async function verifySignature(token: string): Promise<{ sub: string; expiresAt: number }> {
    const verifyWith = async (set: ReturnType<typeof createLocalJWKSet>) =>
      (
        await jwtVerify(token, set, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: ["EdDSA"],
          currentDate: new Date(now()),
        })
      ).payload;
    let payload;
    try {
      payload = await verifyWith(keys ?? (await reload()));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== "ERR_JWKS_NO_MATCHING_KEY" || now() - loadedAt < JWKS_REFRESH_MS) throw err;
      payload = await verifyWith(await reload());
    }
    if (typeof payload.sub !== "string" || payload.sub.length === 0) throw new Error("token has no subject");
    if (typeof payload.exp !== "number") throw new Error("token has no expiry");
    return { sub: payload.sub, expiresAt: payload.exp * 1000 };
  }

  return async function verify(token: string): Promise<string> {
    const cached = verified.get(token);
    if (cached) {
      if (cached.expiresAt > now()) return cached.sub;
      verified.delete(token);
    }
    const result = await verifySignature(token);
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, result);
    return result.sub;
  };
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
