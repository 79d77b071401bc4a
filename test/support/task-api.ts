import type { Server } from "node:http";
import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import { createLogger, listenOn } from "@taskmesh/core";
import { PrismaClient } from "@taskmesh/db";
import pg from "pg";
import supertest from "supertest";
import { createApp, type TaskApiDeps } from "../../services/task-api/src/app.ts";
import { createAuth } from "../../services/task-api/src/auth/auth.ts";
import { createAccessTokenVerifier } from "@taskmesh/auth";
import { createDatabase, type Database } from "../../services/task-api/src/data/database.ts";
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
  auth: ReturnType<typeof createAuth>;
  /** Signs up a new user through the real auth endpoints (unique email each call). */
  signUp(options?: { name?: string; timeZone?: string }): Promise<TestUser>;
  close(): Promise<void>;
}

/**
 * The real task-api app on port 0 against a database of its own (cloned from the migrated
 * template), built by the same createApp as main.ts.
 */
export async function startTaskApi(
  overrides: Partial<TaskApiDeps> = {},
  options: {
    protectedResources?: string[];
    /** Better Auth's own limiter (off by default). */ authRateLimit?: boolean;
  } = {},
): Promise<TestTaskApi> {
  const database = await createTestDatabase();
  // Errors on any connection are handled (testPool): pool.end() resolves before the last
  // connections have closed, and the drop's WITH (FORCE) can still reach one of them.
  const pool = testPool(database.connectionString, 5);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const db = createDatabase(prisma, pool);
  const auth = createAuth({
    prisma,
    baseURL: TEST_PUBLIC_URL,
    secret: "test-secret-that-is-long-enough-0123456789",
    audience: "taskmesh",
    trustedOrigins: [],
    rateLimit: options.authRateLimit ?? false,
    ...(options.protectedResources ? { protectedResources: options.protectedResources } : {}),
  });
  const verifyAccessToken = createAccessTokenVerifier({
    loadJwks: () => auth.api.getJwks(),
    issuer: TEST_PUBLIC_URL,
    audience: "taskmesh",
  });
  const app = createApp({
    logger: createLogger({ service: "task-api", level: "silent" }),
    db,
    auth,
    verifyAccessToken,
    lifecycle: { draining: false },
    publicUrl: TEST_PUBLIC_URL,
    corsOrigins: [],
    rateLimit: { ipPerMinute: 0, userPerMinute: 0 },
    trustProxyHops: 0,
    ...(options.protectedResources ? { protectedResources: options.protectedResources } : {}),
    ...overrides,
  });
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
      await prisma.$disconnect();
      await pool.end();
      await database.drop();
    },
  };
}
