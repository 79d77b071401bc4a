import { createHash, randomBytes } from "node:crypto";
import { DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS } from "@taskmesh/contracts";
import { InvalidError, NotFoundError } from "@taskmesh/core";
import { PERSONAL_ACCESS_TOKEN_PREFIX, isPersonalAccessToken } from "@taskmesh/auth";
import type { AccessTokenView, Store, TokenScope } from "./ports.ts";
import { requireAccount } from "./me.use-cases.ts";
import { DEFAULT_QUOTAS, reserveQuota, type Quotas } from "./quotas.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** last_used_at is written at most this often per token. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** Characters of the token kept for display: the "tmpat_" marker plus 6 of the 43 random ones. */
const DISPLAY_PREFIX_LENGTH = PERSONAL_ACCESS_TOKEN_PREFIX.length + 6;

/** sha256 (hex) of a token: the only form in which a token is stored or looked up. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** tmpat_ + 32 random bytes base64url (256 bits). */
function newSecret(): string {
  return `${PERSONAL_ACCESS_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export interface CreateAccessTokenInput {
  name: string;
  scope: TokenScope;
  expiresInDays?: number;
  expiresAt?: string;
}

/** A token that authenticated a request. */
export interface AuthenticatedToken {
  tokenId: string;
  userId: string;
  scope: TokenScope;
  expiresAt: Date;
}

/** RFC 7662 introspection of a personal access token; only `active` for anything unusable. */
export type Introspection =
  | { active: false }
  | {
      active: true;
      sub: string;
      scope: TokenScope;
      exp: number;
      iat?: number;
      tokenId: string;
      token_type: "personal_access_token";
    };

function expiryOf(input: CreateAccessTokenInput, now: Date): Date {
  if (input.expiresInDays !== undefined && input.expiresAt !== undefined) {
    throw new InvalidError("Give expiresInDays or expiresAt, not both.", [
      { pointer: "/expiresAt", in: "body", detail: "must not be given together with expiresInDays" },
    ]);
  }
  if (input.expiresAt !== undefined) {
    const at = new Date(input.expiresAt);
    if (at.getTime() <= now.getTime() || at.getTime() > now.getTime() + MAX_TOKEN_DAYS * DAY_MS) {
      throw new InvalidError(`expiresAt must be in the future and at most ${MAX_TOKEN_DAYS} days ahead.`, [
        {
          pointer: "/expiresAt",
          in: "body",
          detail: `must be in the future and at most ${MAX_TOKEN_DAYS} days ahead`,
        },
      ]);
    }
    return at;
  }
  return new Date(now.getTime() + (input.expiresInDays ?? DEFAULT_TOKEN_DAYS) * DAY_MS);
}

/**
 * Personal access tokens: named, scoped, expiring bearer tokens. The secret exists only in
 * the response that creates it; the database keeps its SHA-256, so a leaked table yields no
 * usable token. Revoking deletes the row, which ends the token at once.
 */
export function createAccessTokenUseCases(
  store: Store,
  clock: () => Date = () => new Date(),
  quotas: Quotas = DEFAULT_QUOTAS,
) {
  return {
    async create(
      userId: string,
      input: CreateAccessTokenInput,
    ): Promise<AccessTokenView & { token: string }> {
      const now = clock();
      const expiresAt = expiryOf(input, now);
      const token = newSecret();
      const view = await store.transaction(async (repos) => {
        await requireAccount(repos, userId);
        // Expired tokens count until revoked.
        await reserveQuota(repos, quotas, userId, "tokens");
        return repos.accessTokens.insert({
          userId,
          name: input.name,
          scope: input.scope,
          tokenHash: hashToken(token),
          prefix: token.slice(0, DISPLAY_PREFIX_LENGTH),
          expiresAt,
          createdAt: now,
        });
      });
      return { ...view, token };
    },

    list(userId: string, before: string | undefined, limit: number) {
      return store.read.accessTokens.findPage(userId, before, limit);
    },

    async get(userId: string, id: string): Promise<AccessTokenView> {
      const token = await store.read.accessTokens.find(userId, id);
      if (!token) throw new NotFoundError("Token");
      return token;
    },

    async revoke(userId: string, id: string): Promise<void> {
      if (!(await store.read.accessTokens.delete(userId, id))) throw new NotFoundError("Token");
    },

    /**
     * The live token behind a presented secret, or undefined (unknown, revoked or expired).
     * Records the use at most once a minute.
     */
    async authenticate(secret: string): Promise<AuthenticatedToken | undefined> {
      if (!isPersonalAccessToken(secret)) return undefined;
      const stored = await store.read.accessTokens.findByHash(hashToken(secret));
      const now = clock();
      if (!stored || stored.expiresAt.getTime() <= now.getTime()) return undefined;
      if (
        stored.lastUsedAt === null ||
        now.getTime() - stored.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS
      ) {
        await store.read.accessTokens.touch(stored.id, now, LAST_USED_INTERVAL_MS);
      }
      return { tokenId: stored.id, userId: stored.userId, scope: stored.scope, expiresAt: stored.expiresAt };
    },

    /** For the resource servers (mcp-server): the same check as authenticate, as RFC 7662 says it. */
    async introspect(secret: string): Promise<Introspection> {
      const token = await this.authenticate(secret);
      if (!token) return { active: false };
      return {
        active: true,
        sub: token.userId,
        scope: token.scope,
        exp: Math.floor(token.expiresAt.getTime() / 1000),
        tokenId: token.tokenId,
        token_type: "personal_access_token",
      };
    },
  };
}

export type AccessTokenUseCases = ReturnType<typeof createAccessTokenUseCases>;
