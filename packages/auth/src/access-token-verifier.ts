import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

const JWKS_REFRESH_MS = 30_000;
const VERIFIED_CACHE_SIZE = 10_000;

/** Verifies a JWT access token and returns its subject (the user id); throws when it is not valid. */
export type AccessTokenVerifier = (token: string) => Promise<string>;

/** A verified access token: its subject, expiry (ms since the epoch) and every claim. */
export interface VerifiedAccessToken {
  sub: string;
  expiresAt: number;
  claims: JWTPayload;
}

/** An AccessTokenVerifier that also hands out every verified claim (scope, azp, ...). */
export type ClaimsAccessTokenVerifier = AccessTokenVerifier & {
  verifyClaims: (token: string) => Promise<VerifiedAccessToken>;
};

export interface AccessTokenVerifierOptions {
  /** Where the public keys come from: task-api's own key store, or its `/api/auth/jwks` (jwks-loader.ts). */
  loadJwks: () => Promise<JSONWebKeySet>;
  issuer: string;
  audience: string;
  now?: () => number;
}

/**
 * Verifies task-api's access tokens (EdDSA JWTs) locally with the JWKS: no call to task-api
 * per request. The key set is loaded on first use and kept; an unknown key id reloads it, at
 * most every 30 s, so rotated keys are picked up. A failed load is not kept: the next
 * request tries again (the loader's error, e.g. UnavailableError, reaches the caller).
 * Verified tokens are remembered until their `exp` (bounded, oldest evicted first): a
 * client reuses one token for its whole lifetime, and the signature cannot change.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): ClaimsAccessTokenVerifier {
  const now = options.now ?? Date.now;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let loadedAt = 0;
  const verified = new Map<string, VerifiedAccessToken>();

  async function reload(): Promise<ReturnType<typeof createLocalJWKSet>> {
    keys = createLocalJWKSet(await options.loadJwks());
    loadedAt = now();
    return keys;
  }
  async function verifySignature(token: string): Promise<VerifiedAccessToken> {
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
    return { sub: payload.sub, expiresAt: payload.exp * 1000, claims: payload };
  }

  async function verifyClaims(token: string): Promise<VerifiedAccessToken> {
    const cached = verified.get(token);
    if (cached) {
      if (cached.expiresAt > now()) return cached;
      verified.delete(token);
    }
    const result = await verifySignature(token);
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, result);
    return result;
  }

  const verify = async (token: string): Promise<string> => (await verifyClaims(token)).sub;
  return Object.assign(verify, { verifyClaims });
}
