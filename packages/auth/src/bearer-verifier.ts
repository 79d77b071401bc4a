import { UnavailableError } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { createAccessTokenVerifier, type VerifiedAccessToken } from "./access-token-verifier.ts";
import { TASK_API_APP_ID } from "./jwks-loader.ts";

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
  /** "jwt": an access token signed by task-api; "pat": a personal access token. */
  kind: "jwt" | "pat";
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

/** Asks task-api about a personal access token; `{ active: false }` for anything not usable. */
export type Introspect = (token: string) => Promise<TokenIntrospection>;

/** Path of task-api's introspection route (only the trusted caller mcp-server may call it). */
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
    const response = await sidecar.invoke(appId, path, { method: "POST", body: { token } });
    if (!response.ok) {
      await response.body?.cancel();
      throw new UnavailableError(`token introspection at app ${appId} failed: HTTP ${response.status}`, 5);
    }
    const parsed = tokenIntrospectionSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new UnavailableError(`app ${appId} answered an invalid introspection`, 5);
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
  /** How personal access tokens are checked; absent = PATs are refused. */
  introspect?: Introspect;
  /** Remember an active PAT's introspection this long (default 0: ask on every request, revocation is immediate). */
  introspectionCacheMs?: number;
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
 *   inactive = InvalidTokenError;
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
  const introspected = new Map<string, { identity: BearerIdentity; until: number }>();

  async function verifyPat(token: string): Promise<BearerIdentity> {
    if (!options.introspect) throw new InvalidTokenError("personal access tokens are not accepted here");
    const cached = introspected.get(token);
    if (cached && cached.until > now()) return cached.identity;
    introspected.delete(token);
    const result = await options.introspect(token);
    if (!result.active || result.sub === undefined || result.scope === undefined) {
      throw new InvalidTokenError("the personal access token is not active");
    }
    if (result.exp !== undefined && result.exp * 1000 <= now()) {
      throw new InvalidTokenError("the personal access token has expired");
    }
    const identity: BearerIdentity = {
      userId: result.sub,
      scope: result.scope,
      kind: "pat",
      ...(result.tokenId === undefined ? {} : { tokenId: result.tokenId }),
      ...(result.exp === undefined ? {} : { expiresAt: new Date(result.exp * 1000) }),
    };
    if (cacheMs > 0) {
      if (introspected.size >= 10_000) introspected.clear();
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
    if (isPersonalAccessToken(token)) return verifyPat(token);
    if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return verifyAccessToken(token);
    throw new InvalidTokenError("the bearer token is neither an access token nor a personal access token");
  };
}
