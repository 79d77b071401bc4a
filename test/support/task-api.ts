import type { Server } from "node:http";
import { randomUUID } from "node:crypto";
import { createLogger, listenOn } from "@taskmesh/core";
import type { PrismaClient } from "@taskmesh/db";
import type pg from "pg";
import supertest from "supertest";
import type { TaskApiDeps } from "../../services/task-api/src/app.ts";
import type { Auth } from "../../services/task-api/src/auth/auth.ts";
import { composeTaskApi, type TaskApiOverrides } from "../../services/task-api/src/compose.ts";
import { loadTaskApiConfig } from "../../services/task-api/src/config.ts";
import type { Database } from "../../services/task-api/src/data/database.ts";
import { createTestDatabase, testPool } from "./postgres.ts";

export const TEST_PUBLIC_URL = "http://task-api.test";

export interface TestUser {
  id: string;
  email: string;
  /** Session token (bearer plugin), as returned in set-auth-token. */
  sessionToken: string;
  /** Short-lived JWT access token from GET /api/auth/token. */
  accessToken: string;
  /** Authorization header with the access token. */
  auth: { Authorization: string };
}

export interface TestTaskApi {
  /**
   * The sidecar listener (the Dapr app port): everything the public one serves plus the
   * sidecar-only routes and the trusted-caller identity, as daprd reaches the app.
   */
  request: ReturnType<typeof supertest>;
  server: Server;
  /** The public listener (what the Ingress exposes): no sidecar routes, no trusted callers. */
  publicRequest: ReturnType<typeof supertest>;
  publicServer: Server;
  /** The operations listener: /healthz, /readyz, /metrics. */
  opsRequest: ReturnType<typeof supertest>;
  db: Database;
  prisma: PrismaClient;
  pool: pg.Pool;
  /** The app's Better Auth instance (e.g. auth.api.signJWT to mint tokens with other claims). */
  auth: Auth;
  /** Signs up a new user through the real auth endpoints (unique email each call). */
  signUp(options?: { name?: string; timeZone?: string }): Promise<TestUser>;
  /** Requests to the sidecar listener (`request`) as `user`, with its access token. */
  as(user: TestUser): UserRequests;
  close(): Promise<void>;
}

/** Headers of a request beyond the user's Authorization: Idempotency-Key, If-Match, Content-Type... */
export type Headers = Record<string, string>;

/**
 * Requests as one user. The headers are set before the body (a string body is sent as it is,
 * with the Content-Type it names); nothing is awaited, so a test adds `.expect()` or more.
 */
export interface UserRequests {
  get(path: string, headers?: Headers): supertest.Test;
  delete(path: string, headers?: Headers): supertest.Test;
  post(path: string, body?: object | string, headers?: Headers): supertest.Test;
  patch(path: string, body?: object | string, headers?: Headers): supertest.Test;
}

function requestsAs(request: ReturnType<typeof supertest>, user: TestUser): UserRequests {
  const build = (
    method: "get" | "delete" | "post" | "patch",
    path: string,
    body: object | string | undefined,
    headers: Headers = {},
  ) => {
    const req = request[method](path).set(user.auth).set(headers);
    return body === undefined ? req : req.send(body);
  };
  return {
    get: (path, headers) => build("get", path, undefined, headers),
    delete: (path, headers) => build("delete", path, undefined, headers),
    post: (path, body, headers) => build("post", path, body, headers),
    patch: (path, body, headers) => build("patch", path, body, headers),
  };
}

/**
 * What a test changes of task-api: the composition root's overrides, and settings named as
 * createApp's (rate limits, quotas, trusted callers...), which the harness turns into the
 * config values that give them.
 */
export type TaskApiHarnessOverrides = TaskApiOverrides &
  Partial<
    Pick<
      TaskApiDeps,
      | "rateLimit"
      | "trustProxyHops"
      | "corsOrigins"
      | "quotas"
      | "trustedCallers"
      | "introspectionCallerAppIds"
      | "protectedResources"
    >
  >;

/** The config values for the settings of `overrides`; the harness's defaults: no limits, no trusted callers. */
function settingsEnv(
  overrides: TaskApiHarnessOverrides,
  options: { protectedResources?: string[]; authRateLimit?: boolean },
): Record<string, string> {
  const rateLimit = overrides.rateLimit ?? { ipPerMinute: 0, userPerMinute: 0 };
  // Better Auth's own limiter is on when the per-IP limit is (config.ts); a test that wants
  // only Better Auth's gets a per-IP limit nothing reaches.
  const ipPerMinute =
    options.authRateLimit && rateLimit.ipPerMinute === 0 ? 1_000_000 : rateLimit.ipPerMinute;
  const env: Record<string, string> = {
    RATE_LIMIT_IP_PER_MINUTE: String(ipPerMinute),
    RATE_LIMIT_USER_PER_MINUTE: String(rateLimit.userPerMinute),
    RATE_LIMIT_SIGN_IN_IP_PER_MINUTE: String(rateLimit.signInPerIpPerMinute ?? 0),
    RATE_LIMIT_SIGN_IN_EMAIL_PER_MINUTE: String(rateLimit.signInPerEmailPerMinute ?? 0),
    RATE_LIMIT_CLIENT_REGISTRATION_IP_PER_HOUR: String(rateLimit.clientRegistrationsPerIpPerHour ?? 0),
    TRUST_PROXY_HOPS: String(overrides.trustProxyHops ?? 0),
    CORS_ORIGINS: (overrides.corsOrigins ?? []).join(","),
    PROTECTED_RESOURCES: (options.protectedResources ?? overrides.protectedResources ?? []).join(","),
  };
  if (overrides.quotas) {
    env.QUOTA_TASKS_PER_USER = String(overrides.quotas.tasks);
    env.QUOTA_LISTS_PER_USER = String(overrides.quotas.lists);
    env.QUOTA_TAGS_PER_USER = String(overrides.quotas.tags);
    env.QUOTA_TOKENS_PER_USER = String(overrides.quotas.tokens);
  }
  if (overrides.trustedCallers) {
    env.APP_API_TOKEN = overrides.trustedCallers.appApiToken;
    env.TRUSTED_CALLER_APP_IDS = overrides.trustedCallers.appIds.join(",");
  }
  if (overrides.introspectionCallerAppIds)
    env.INTROSPECTION_CALLER_APP_IDS = overrides.introspectionCallerAppIds.join(",");
  return env;
}

/**
 * The real task-api app on port 0 against a database of its own (cloned from the migrated
 * template), built by the same composition root as main.ts. No outbox relay (OUTBOX_RELAY=false:
 * the outbox tests run it on a stack) and no sweep are started.
 */
export async function startTaskApi(
  overrides: TaskApiHarnessOverrides = {},
  options: {
    protectedResources?: string[];
    /** Better Auth's own limiter (off by default). */ authRateLimit?: boolean;
  } = {},
): Promise<TestTaskApi> {
  const database = await createTestDatabase();
  // Errors on any connection are handled (testPool): pool.end() resolves before the last
  // connections have closed, and the drop's WITH (FORCE) can still reach one of them.
  const pool = testPool(database.connectionString, 5);
  const {
    rateLimit: _rateLimit,
    trustProxyHops: _trustProxyHops,
    corsOrigins: _corsOrigins,
    quotas: _quotas,
    trustedCallers: _trustedCallers,
    introspectionCallerAppIds: _introspectionCallerAppIds,
    protectedResources: _protectedResources,
    ...compose
  } = overrides;
  const config = loadTaskApiConfig({
    DATABASE_URL: database.connectionString,
    PUBLIC_URL: TEST_PUBLIC_URL,
    BETTER_AUTH_SECRET: "test-secret-that-is-long-enough-0123456789",
    OUTBOX_RELAY: "false",
    // No sidecar: the history (unless a test brings its own) meets a real connection refusal.
    DAPR_HTTP_PORT: "9",
    LOG_LEVEL: "silent",
    ...settingsEnv(overrides, options),
  });
  const service = await composeTaskApi(config, {
    logger: createLogger({ service: "task-api", level: "silent" }),
    pool,
    ...compose,
  });
  const { app, db, prisma, auth } = service;
  // The three listeners main.ts opens (serve()), each on port 0.
  const server = await listenOn(app, "sidecar", 0, "127.0.0.1");
  const publicServer = await listenOn(app, "public", 0, "127.0.0.1");
  const opsServer = await listenOn(app, "operations", 0, "127.0.0.1");
  const request = supertest(server);

  return {
    request,
    server,
    publicRequest: supertest(publicServer),
    publicServer,
    opsRequest: supertest(opsServer),
    db,
    prisma,
    pool,
    auth,
    async signUp(options = {}) {
      const email = `user-${randomUUID()}@example.com`;
      const signUp = await request
        .post("/api/auth/sign-up/email")
        .send({
          email,
          password: "correct-horse-battery",
          name: options.name ?? "Test User",
          ...(options.timeZone ? { timeZone: options.timeZone } : {}),
        })
        .expect(200);
      const sessionToken = signUp.headers["set-auth-token"];
      if (typeof sessionToken !== "string") throw new Error("sign-up returned no set-auth-token");
      const token = await request
        .get("/api/auth/token")
        .set("Authorization", `Bearer ${sessionToken}`)
        .expect(200);
      const accessToken = (token.body as { token: string }).token;
      const body = signUp.body as { user: { id: string } };
      return {
        id: body.user.id,
        email,
        sessionToken,
        accessToken,
        auth: { Authorization: `Bearer ${accessToken}` },
      };
    },
    as: (user) => requestsAs(request, user),
    async close() {
      await Promise.all(
        [server, publicServer, opsServer].map(
          (s) =>
            new Promise<void>((resolve) =>
              s.close(() => {
                resolve();
              }),
            ),
        ),
      );
      await service.close();
      await database.drop();
    },
  };
}
