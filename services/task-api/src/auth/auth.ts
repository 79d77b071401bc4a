// Narrow entry points: "better-auth/plugins" alone loads every plugin (~10 MiB of RSS).
import { betterAuth } from "better-auth/minimal";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import { oauthProvider } from "@better-auth/oauth-provider";
import { OAUTH_SCOPES } from "@taskmesh/auth";
import type { PrismaClient } from "@taskmesh/db";
import { canonicalTimeZone } from "@taskmesh/recurrence";
import { personName } from "@taskmesh/contracts";
import { withNullableLists } from "./prisma-lists.ts";

export interface AuthOptions {
  prisma: PrismaClient;
  /** Public origin of task-api; the JWT issuer. */
  baseURL: string;
  secret: string;
  /** The `aud` of access tokens. */
  audience: string;
  trustedOrigins: string[];
  /**
   * Better Auth's own limiter (per trusted client IP) on its other endpoints; sign-in, sign-up and
   * client registration are limited in front of it instead (authHandler), per IP and per email.
   */
  rateLimit: boolean;
  /**
   * Protected resources (RFC 8707 identifiers) the OAuth authorization server issues tokens for:
   * the MCP server's canonical URL. Empty = OAuth clients can get no resource token.
   */
  protectedResources?: readonly string[];
}

/**
 * The client address Express trusts (req.ip), set by authHandler on every request to Better Auth
 * and overwritten there, so Better Auth keys its limits and records sessions' ipAddress on it.
 */
export const CLIENT_IP_HEADER = "x-taskmesh-client-ip";

/** Pages of task-api that the OAuth authorize endpoint sends a browser to (http/oauth.routes.ts). */
export const OAUTH_LOGIN_PAGE = "/oauth/login";
export const OAUTH_CONSENT_PAGE = "/oauth/consent";

const ACCESS_TOKEN_TTL = "15m";
const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

/**
 * Better Auth: email + password, database sessions, bearer session tokens for API
 * clients, and short-lived EdDSA JWT access tokens whose public keys are served at
 * /api/auth/jwks so other services verify identity without calling back.
 *
 * It is also the OAuth 2.1 authorization server of taskmesh's protected resources (the MCP
 * server), by @better-auth/oauth-provider: dynamic client registration without an account
 * (RFC 7591, what MCP clients do), authorization code + PKCE for a signed-in user who consents
 * on task-api's pages, and access tokens bound to the requested resource (RFC 8707: a JWT whose
 * aud is that resource, signed with the same keys, scopes tasks:read / tasks:write), refresh
 * tokens with offline_access. Every registered client may ask for every protected resource.
 */
export function createAuth(options: AuthOptions) {
  const resources = [...(options.protectedResources ?? [])];
  return betterAuth({
    appName: "taskmesh",
    baseURL: options.baseURL,
    basePath: "/api/auth",
    secret: options.secret,
    database: prismaAdapter(withNullableLists(options.prisma), { provider: "postgresql" }),
    telemetry: { enabled: false },
    trustedOrigins: options.trustedOrigins,
    rateLimit: {
      enabled: options.rateLimit,
      window: 60,
      max: 30,
      // authHandler limits these per trusted IP and per email, answering problem+json.
      customRules: { "/sign-in/email": false, "/sign-up/email": false, "/oauth2/register": false },
    },
    // Never X-Forwarded-For (the client writes its leftmost entry): the address Express trusts.
    advanced: {
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
      // Better Auth turns its Origin and CSRF checks off when NODE_ENV=test (create-context's
      // isTest default); explicit, so tests exercise the checks production runs.
      disableOriginCheck: false,
      // UUID keys (schema.prisma): on Postgres the Prisma adapter then leaves ids to Prisma's
      // @default(uuid(7)) instead of generating 32-character strings.
      database: { generateId: "uuid" },
    },
    emailAndPassword: { enabled: true, minPasswordLength: 10, maxPasswordLength: 128, autoSignIn: true },
    hooks: {
      // Sign-up takes the same name rule as PATCH /v1/me (Better Auth accepts any length).
      before: createAuthMiddleware((ctx) => {
        if (ctx.path !== "/sign-up/email" && ctx.path !== "/update-user") return Promise.resolve();
        const name: unknown = (ctx.body as { name?: unknown } | undefined)?.name;
        if (name === undefined && ctx.path === "/update-user") return Promise.resolve();
        const result = personName.safeParse(name);
        if (!result.success) {
          throw new APIError("UNPROCESSABLE_ENTITY", {
            message: `name ${result.error.issues[0]?.message ?? "is invalid"}`,
            code: "INVALID_NAME",
          });
        }
        return Promise.resolve();
      }),
    },
    session: { expiresIn: 60 * 60 * 24 * 30, updateAge: 60 * 60 * 24 },
    user: {
      additionalFields: {
        timeZone: {
          type: "string",
          required: false,
          defaultValue: "UTC",
          input: true,
          // Stored canonical; an unknown zone falls back to a validation error at sign-up.
          transform: {
            input: (value) => (typeof value === "string" ? (canonicalTimeZone(value) ?? value) : value),
          },
          validator: {
            input: {
              "~standard": {
                version: 1,
                vendor: "taskmesh",
                validate: (value: unknown) =>
                  typeof value === "string" && canonicalTimeZone(value) !== undefined
                    ? { value }
                    : { issues: [{ message: "timeZone must be an IANA time zone such as Europe/Berlin" }] },
              },
            },
          },
        },
      },
    },
    plugins: [
      bearer(),
      jwt({
        // Otherwise every session-authenticated request signs a fresh JWT into a set-auth-jwt
        // header; clients that want an access token ask GET /api/auth/token once instead.
        disableSettingJwtHeader: true,
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
        jwt: { issuer: options.baseURL, audience: options.audience, expirationTime: ACCESS_TOKEN_TTL },
      }),
      oauthProvider({
        loginPage: OAUTH_LOGIN_PAGE,
        consentPage: OAUTH_CONSENT_PAGE,
        scopes: [OAUTH_SCOPES.read, OAUTH_SCOPES.write, "offline_access"],
        grantTypes: ["authorization_code", "refresh_token"],
        resources: resources.map((identifier) => ({
          identifier,
          name: "taskmesh MCP server",
          accessTokenTtl: ACCESS_TOKEN_TTL_SECONDS,
          // Explicit: an empty list (what an unset list reads back as) would allow no scope at all.
          allowedScopes: [OAUTH_SCOPES.read, OAUTH_SCOPES.write, "offline_access"],
        })),
        // The configuration is the source of truth for resources; every new client may ask for each.
        resourceSeedMode: "overwrite",
        clientRegistrationDefaultResources: resources,
        allowDynamicClientRegistration: true,
        allowUnauthenticatedClientRegistration: true,
        // Limited per trusted IP in front of Better Auth (authHandler), with problem+json.
        rateLimit: { register: false },
        accessTokenExpiresIn: ACCESS_TOKEN_TTL_SECONDS,
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
