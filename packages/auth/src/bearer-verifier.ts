import { UnavailableError } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { createAccessTokenVerifier, type VerifiedAccessToken } from "./access-token-verifier.ts";
import { KEYS_UNAVAILABLE_DETAIL, TASK_API_APP_ID } from "./jwks-loader.ts";

/**
 * What a token allows: "read" only safe calls (GET/HEAD on the REST API, read-only MCP tools),
 * "read-write" everything the user may do.
 */
export type TokenScope = "read" | "read-write";

/** OAuth scopes of taskmesh's authorization server; `tasks:write` implies `tasks:read`. */
export const OAUTH_SCOPES = { read: "tasks:read", write: "tasks:write" } as const;

/** Personal access tokens start with this, so a verifier knows where to check them. */
export const PERSONAL_ACCESS_TOKEN_PREFIX = "tmpat_";

/** True for a string shaped like a personal access token (not a proof that it is valid). */
export function isPersonalAccessToken(token: string): boolean {
  return token.startsWith(PERSONAL_ACCESS_TOKEN_PREFIX) && /^tmpat_[A-Za-z0-9_-]{20,100}$/.test(token);
}

/** Who a valid bearer token stands for, and what it may do. */
export interface BearerIdentity {
  userId: string;
  scope: TokenScope;
  /**
   * "jwt": an access token signed by task-api; "pat": a personal access token; "session": a
   * session token (sign-up's and sign-in's `set-auth-token`), checked by task-api.
   */
  kind: "jwt" | "pat" | "session";
  /** The personal access token's id (kind "pat"): for logs, never secret. */
  tokenId?: string;
  /** The OAuth client the token was issued to (`azp`/`client_id`), when one was. */
  clientId?: string;
  /** When the token stops being valid, if known. */
  expiresAt?: Date;
}

/** A token that is malformed, unknown, expired, revoked or meant for another audience. */
export class InvalidTokenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InvalidTokenError";
  }
}

/** RFC 7662 token introspection response, as task-api's `POST /internal/tokens/introspect` answers. */
export const tokenIntrospectionSchema = z.object({
  active: z.boolean(),
  sub: z.string().min(1).optional(),
  scope: z.enum(["read", "read-write"]).optional(),
  /** Expiry, seconds since the epoch. */
  exp: z.number().int().optional(),
  tokenId: z.string().optional(),
  token_type: z.string().optional(),
});
export type TokenIntrospection = z.infer<typeof tokenIntrospectionSchema>;

/**
 * Asks task-api about a personal access token or a session token; `{ active: false }` for
 * anything not usable.
 */
export type Introspect = (token: string) => Promise<TokenIntrospection>;

/** Path of task-api's introspection route (only INTROSPECTION_CALLER_APP_IDS may call it). */
export const TASK_API_INTROSPECT_PATH = "internal/tokens/introspect";

/**
 * Introspection by service invocation through the caller's own sidecar: POST {token} to
 * task-api's /internal/tokens/introspect. task-api answers only when the call arrives through its
 * sidecar from an allowed app (app token + dapr-caller-app-id). Anything but a 200 with a valid
 * body is an UnavailableError (the token may be fine; the client should retry, not sign in again).
 */
export function introspectionFromSidecar(
  sidecar: Pick<SidecarClient, "invoke">,
  target: { appId?: string; path?: string } = {},
): Introspect {
  const appId = target.appId ?? TASK_API_APP_ID;
  const path = target.path ?? TASK_API_INTROSPECT_PATH;
  return async (token) => {
    // The client reads what to do; the logs (cause) read where it failed.
    const unavailable = (why: string, cause?: unknown) =>
      new UnavailableError(KEYS_UNAVAILABLE_DETAIL, 2, {
        cause: new Error(why, cause === undefined ? undefined : { cause }),
      });
    let response: Response;
    try {
      response = await sidecar.invoke(appId, path, { method: "POST", body: { token } });
    } catch (error) {
      throw unavailable(`token introspection at app ${appId} failed`, error);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw unavailable(`token introspection at app ${appId} failed: HTTP ${response.status}`);
    }
    const parsed = tokenIntrospectionSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw unavailable(`app ${appId} answered an invalid introspection`);
    return parsed.data;
  };
}

export interface BearerVerifierOptions {
  /** task-api's public keys, e.g. jwksFromSidecar(sidecar) (cached and refreshed by the verifier). */
  jwks: () => Promise<JSONWebKeySet>;
  /** The `iss` every accepted JWT must carry: task-api's public URL. */
  issuer: string;
  /**
   * The `aud` every accepted JWT must carry: this resource's own identifier. For the MCP server,
   * its canonical URL (MCP_RESOURCE_URL, e.g. http://localhost:3001/mcp); task-api's REST tokens
   * ("taskmesh") are refused, and tokens for this audience are refused by task-api.
   */
  audience: string;
  /** How personal access tokens (and, with acceptSessionTokens, session tokens) are checked; absent = refused. */
  introspect?: Introspect;
  /**
   * Also accept task-api's session tokens (anything neither a JWT nor a PAT), checked by
   * introspection: for services a user calls with the token sign-up gave them (the live
   * stream). Default false (the MCP server accepts only tokens meant for it and PATs).
   */
  acceptSessionTokens?: boolean;
  /** Remember an active token's introspection this long (default 0: ask on every request, revocation is immediate). */
  introspectionCacheMs?: number;
  /**
   * Remember that a token is not active this long (default 5 s): a client retrying with a bad
   * token, or one guessing tokens, costs one introspection per token per period.
   */
  negativeCacheMs?: number;
  /**
   * Most tokens remembered as not active (default 10,000): the oldest go first, so a flood of
   * made-up tokens costs bounded memory.
   */
  negativeCacheMaxEntries?: number;
  now?: () => number;
}

/**
 * Verifies a bearer token; resolves to the identity or rejects with InvalidTokenError
 * (answer 401 invalid_token) or UnavailableError (keys or introspection unreachable: 503).
 */
export type BearerVerifier = (token: string) => Promise<BearerIdentity>;

/** The scope a JWT grants: no `scope` claim (a signed-in user's own token) = read-write. */
export function scopeFromClaim(scope: unknown): TokenScope | undefined {
  if (scope === undefined) return "read-write";
  if (typeof scope !== "string") return undefined;
  const scopes = scope.split(" ");
  if (scopes.includes(OAUTH_SCOPES.write)) return "read-write";
  if (scopes.includes(OAUTH_SCOPES.read)) return "read";
  return undefined;
}

/**
 * The verifier a resource server (mcp-server) uses for every request:
 * - a JWT (three dot-separated parts) is verified locally against task-api's JWKS, with issuer,
 *   audience (options.audience only), EdDSA and expiry checked; its `scope` claim maps to
 *   TokenScope (absent = read-write; `tasks:write` = read-write; `tasks:read` = read; anything
 *   else is refused);
 * - a personal access token (`tmpat_...`) is introspected at task-api (options.introspect);
 *   inactive = InvalidTokenError (remembered for negativeCacheMs);
 * - with acceptSessionTokens, any other token is introspected as a session token;
 * - anything else is an InvalidTokenError.
 * The token itself is never forwarded anywhere but to introspection.
 */
export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  const now = options.now ?? Date.now;
  const verifyJwt = createAccessTokenVerifier({
    loadJwks: options.jwks,
    issuer: options.issuer,
    audience: options.audience,
    now,
  });
  const cacheMs = options.introspectionCacheMs ?? 0;
  const negativeCacheMs = options.negativeCacheMs ?? 5000;
  const introspected = new Map<string, { identity: BearerIdentity; until: number }>();
  const refused = new Map<string, number>();
  const MAX_CACHED = 10_000;
  const maxRefused = Math.max(1, options.negativeCacheMaxEntries ?? MAX_CACHED);
  // Introspections in flight: concurrent requests with one token share one call.
  const pending = new Map<string, Promise<BearerIdentity>>();

  function refuse(token: string, message: string): never {
    if (negativeCacheMs > 0) {
      // Its own bound, so a flood of made-up tokens never pushes out the valid ones; an LRU
      // (Map order is insertion order), so the flood pushes out only its own oldest entries.
      refused.delete(token);
      for (const oldest of refused.keys()) {
        if (refused.size < maxRefused) break;
        refused.delete(oldest);
      }
      refused.set(token, now() + negativeCacheMs);
    }
    throw new InvalidTokenError(message);
  }

  function introspectOnce(token: string, kind: "pat" | "session"): Promise<BearerIdentity> {
    const inFlight = pending.get(token);
    if (inFlight) return inFlight;
    const started = introspectToken(token, kind).finally(() => pending.delete(token));
    pending.set(token, started);
    return started;
  }

  async function introspectToken(token: string, kind: "pat" | "session"): Promise<BearerIdentity> {
    if (!options.introspect) throw new InvalidTokenError(`${kind} tokens are not accepted here`);
    const cached = introspected.get(token);
    if (cached && cached.until > now()) return cached.identity;
    introspected.delete(token);
    const refusedUntil = refused.get(token);
    if (refusedUntil !== undefined) {
      if (refusedUntil > now()) throw new InvalidTokenError("the token is not active");
      refused.delete(token);
    }
    const result = await options.introspect(token);
    if (!result.active || result.sub === undefined || result.scope === undefined) {
      refuse(token, "the token is not active");
    }
    if (result.exp !== undefined && result.exp * 1000 <= now()) {
      refuse(token, "the token has expired");
    }
    const identity: BearerIdentity = {
      userId: result.sub,
      scope: result.scope,
      kind,
      ...(result.tokenId === undefined ? {} : { tokenId: result.tokenId }),
      ...(result.exp === undefined ? {} : { expiresAt: new Date(result.exp * 1000) }),
    };
    if (cacheMs > 0) {
      if (introspected.size >= MAX_CACHED) introspected.clear();
      const until = Math.min(now() + cacheMs, identity.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
      introspected.set(token, { identity, until });
    }
    return identity;
  }

  async function verifyAccessToken(token: string): Promise<BearerIdentity> {
    let verified: VerifiedAccessToken;
    try {
      verified = await verifyJwt.verifyClaims(token);
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw new InvalidTokenError("the access token is invalid, expired or meant for another audience", {
        cause: error,
      });
    }
    const scope = scopeFromClaim(verified.claims.scope);
    if (scope === undefined) throw new InvalidTokenError("the access token grants no taskmesh scope");
    const clientId = verified.claims.azp ?? verified.claims.client_id;
    return {
      userId: verified.sub,
      scope,
      kind: "jwt",
      ...(typeof clientId === "string" ? { clientId } : {}),
      expiresAt: new Date(verified.expiresAt),
    };
  }

  return async (token) => {
    if (isPersonalAccessToken(token)) return introspectOnce(token, "pat");
    if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return verifyAccessToken(token);
    // Session tokens are opaque (Better Auth's signed `<id>.<signature>`); bounded, printable.
    if (options.acceptSessionTokens === true && /^[\x21-\x7e]{16,512}$/.test(token))
      return introspectOnce(token, "session");
    throw new InvalidTokenError("the bearer token is neither an access token nor a personal access token");
  };
}
