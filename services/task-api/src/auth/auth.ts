// Narrow entry points: "better-auth/plugins" alone loads every plugin (~10 MiB of RSS).
import { betterAuth } from "better-auth/minimal";
import { prismaAdapter } from "better-auth/adapters/prisma";
import { APIError, createAuthMiddleware } from "better-auth/api";
import { bearer } from "better-auth/plugins/bearer";
import { jwt } from "better-auth/plugins/jwt";
import type { PrismaClient } from "@taskmesh/db";
import { canonicalTimeZone } from "@taskmesh/recurrence";
import { personName } from "../http/schemas.ts";

export interface AuthOptions {
  prisma: PrismaClient;
  /** Public origin of task-api; the JWT issuer. */
  baseURL: string;
  secret: string;
  /** The `aud` of access tokens. */
  audience: string;
  trustedOrigins: string[];
  /** Better Auth's own limiter on sign-in/sign-up (per IP). */
  rateLimit: boolean;
}

const ACCESS_TOKEN_TTL = "15m";

/**
 * Better Auth: email + password, database sessions, bearer session tokens for API
 * clients, and short-lived EdDSA JWT access tokens whose public keys are served at
 * /api/auth/jwks so other services verify identity without calling back.
 */
export function createAuth(options: AuthOptions) {
  return betterAuth({
    appName: "taskmesh",
    baseURL: options.baseURL,
    basePath: "/api/auth",
    secret: options.secret,
    database: prismaAdapter(options.prisma, { provider: "postgresql" }),
    telemetry: { enabled: false },
    trustedOrigins: options.trustedOrigins,
    rateLimit: { enabled: options.rateLimit, window: 60, max: 30 },
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
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;
