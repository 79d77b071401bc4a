import { createServiceApp, jsonBody, type ServiceDeps, UnavailableError } from "@taskmesh/core";
import cors from "cors";
import express, { type Express, type RequestHandler } from "express";
import helmet from "helmet";
import type { Auth } from "./auth/auth.ts";
import { authHandler } from "./auth/auth-handler.ts";
import type { ClaimsAccessTokenVerifier } from "@taskmesh/auth";
import {
  authenticate,
  cameThroughSidecar,
  requireWriteScope,
  type TrustedCallers,
} from "./auth/authenticate.ts";
import { resourceTokenRoute } from "./auth/resource-token.ts";
import type { Database } from "./data/database.ts";
import type { TaskHistory } from "./data/task-history.client.ts";
import { createStore } from "./data/repositories.ts";
import { userExists } from "./data/user.repository.ts";
import { createAccessTokenUseCases } from "./domain/access-token.use-cases.ts";
import { createIdempotentWrite } from "./domain/idempotent-write.use-case.ts";
import { createListUseCases } from "./domain/list.use-cases.ts";
import { createMeUseCases } from "./domain/me.use-cases.ts";
import { createTagUseCases } from "./domain/tag.use-cases.ts";
import { createReadTaskHistory } from "./domain/task-history.use-case.ts";
import { createTaskUseCases } from "./domain/task.use-cases.ts";
import { DEFAULT_QUOTAS, type Quotas } from "./domain/quotas.ts";
import { accessTokenRoutes } from "./http/access-token.routes.ts";
import { docsRoutes } from "./http/docs.routes.ts";
import { introspectionRoutes } from "./http/introspection.routes.ts";
import { oauthRoutes } from "./http/oauth.routes.ts";
import { listRoutes } from "./http/list.routes.ts";
import { meRoutes } from "./http/me.routes.ts";
import { createOpenApiDocument } from "./http/openapi.ts";
import { rateLimits } from "./http/rate-limit.ts";
import { tagRoutes } from "./http/tag.routes.ts";
import { taskHistoryRoutes } from "./http/task-history.routes.ts";
import { taskRoutes } from "./http/task.routes.ts";

export interface TaskApiDeps extends ServiceDeps {
  db: Database;
  auth: Auth;
  verifyAccessToken: ClaimsAccessTokenVerifier;
  publicUrl: string;
  corsOrigins: string[];
  /** Per minute unless named otherwise; 0 or absent (the auth limits) = off. */
  rateLimit: {
    ipPerMinute: number;
    userPerMinute: number;
    signInPerIpPerMinute?: number;
    signInPerEmailPerMinute?: number;
    clientRegistrationsPerIpPerHour?: number;
  };
  trustProxyHops: number;
  /** Per-user quotas (QUOTA_* in config.ts); absent = DEFAULT_QUOTAS. */
  quotas?: Quotas;
  clock?: () => Date;
  /**
   * Services that may act for a user (x-taskmesh-user-id), recognised by this app's
   * APP_API_TOKEN from its sidecar; absent = no service may.
   */
  trustedCallers?: Omit<TrustedCallers, "userExists">;
  /**
   * Apps that may introspect personal access tokens (POST /internal/tokens/introspect, through
   * this app's sidecar with its APP_API_TOKEN); needs trustedCallers' app token. Default mcp-server.
   */
  introspectionCallerAppIds?: readonly string[];
  /**
   * Protected resources (RFC 8707 identifiers, e.g. the MCP server's URL) a signed-in user may get
   * an access token for with GET /api/auth/token?resource=; absent = none.
   */
  protectedResources?: readonly string[];
  /** Where GET /v1/tasks/:id/history reads from (audit-log); absent = that route answers 503. */
  taskHistory?: TaskHistory;
}

const NO_TASK_HISTORY: TaskHistory = {
  read: () => Promise.reject(new UnavailableError("The task history is not configured on this server.", 60)),
};

const EXPOSED_HEADERS = [
  "ETag",
  "Location",
  "X-Request-Id",
  "RateLimit",
  "RateLimit-Policy",
  "Retry-After",
  "Idempotent-Replayed",
  "set-auth-token",
];

/** The task-api Express app, without listening: compose.ts builds it for main.ts and the tests. */
export function createApp(deps: TaskApiDeps): Express {
  const security: RequestHandler[] = [
    helmet({
      contentSecurityPolicy: {
        // TLS ends at the ingress; upgrading would break /docs on plain-HTTP localhost.
        directives: {
          "style-src": ["'self'", "'unsafe-inline'"],
          "img-src": ["'self'", "data:"],
          "upgrade-insecure-requests": null,
        },
      },
    }),
  ];
  if (deps.corsOrigins.length > 0) {
    security.push(
      cors({ origin: deps.corsOrigins, credentials: true, exposedHeaders: EXPOSED_HEADERS, maxAge: 600 }),
    );
  }
  return createServiceApp(
    {
      service: "task-api",
      ...deps, // logger, lifecycle, metrics, trustProxyHops
      readiness: {
        database: async () => {
          await deps.db.read.query("SELECT 1", []);
        },
      },
      security,
      databaseErrors: true,
    },
    (app) => {
      mountRoutes(app, deps);
    },
  ).app;
}

/** task-api's own routes, between the common stack's probes and its error handlers. */
function mountRoutes(app: Express, deps: TaskApiDeps): void {
  const { db, auth } = deps;
  const limits = rateLimits(deps.rateLimit);
  app.use(docsRoutes(createOpenApiDocument(deps.publicUrl)));
  app.get("/", (_req, res) => {
    res.json({
      service: "taskmesh task-api",
      docs: "/docs",
      openapi: "/openapi.json",
      auth: "/api/auth",
      api: "/v1",
    });
  });

  const clock = deps.clock ?? (() => new Date());
  const quotas = deps.quotas ?? DEFAULT_QUOTAS;
  const store = createStore(db);
  const accessTokens = createAccessTokenUseCases(store, clock, quotas);
  // Only this app's sidecar reaches it (app token); not limited per IP, since every call comes from the sidecar.
  if (deps.trustedCallers) {
    app.use(
      introspectionRoutes(accessTokens, {
        appApiToken: deps.trustedCallers.appApiToken,
        callerAppIds: deps.introspectionCallerAppIds ?? ["mcp-server", "notifications"],
        sessions: async (token) => {
          const session = await auth.api.getSession({
            headers: new Headers({ authorization: `Bearer ${token}` }),
          });
          return session ? { userId: session.user.id, expiresAt: session.session.expiresAt } : undefined;
        },
      }),
    );
  }

  // Calls through the sidecar (trusted services acting for users) all share the sidecar's address:
  // they skip the per-IP limit; the per-user limit still applies to them.
  const viaSidecar = deps.trustedCallers && cameThroughSidecar(deps.trustedCallers.appApiToken);
  app.use((req, res, next) => {
    if (viaSidecar?.(req)) {
      next();
      return;
    }
    return limits.perIp(req, res, next);
  });
  app.use(oauthRoutes(auth));
  app.get("/api/auth/token", resourceTokenRoute(auth, deps.protectedResources ?? []));
  // Better Auth behind its guards (auth/auth-handler.ts): trusted client IP, body limit, limits.
  app.use(
    "/api/auth",
    authHandler(auth, {
      signInPerIpPerMinute: deps.rateLimit.signInPerIpPerMinute ?? 0,
      signInPerEmailPerMinute: deps.rateLimit.signInPerEmailPerMinute ?? 0,
      clientRegistrationsPerIpPerHour: deps.rateLimit.clientRegistrationsPerIpPerHour ?? 0,
    }),
  );

  const v1 = express.Router();
  v1.use(
    authenticate(
      auth,
      deps.verifyAccessToken,
      (secret) => accessTokens.authenticate(secret),
      deps.trustedCallers && {
        ...deps.trustedCallers,
        userExists: (userId) => userExists(db.read, userId),
      },
    ),
  );
  v1.use(limits.perUser);
  v1.use(requireWriteScope);
  v1.use(jsonBody({ limit: "64kb" }));
  v1.use(accessTokenRoutes(accessTokens));
  const write = createIdempotentWrite(store, clock);
  v1.use(meRoutes(createMeUseCases(store, clock)));
  v1.use(listRoutes(createListUseCases(store, clock, quotas), write));
  v1.use(taskRoutes(createTaskUseCases(store, clock, quotas), write));
  v1.use(taskHistoryRoutes(createReadTaskHistory(store, deps.taskHistory ?? NO_TASK_HISTORY)));
  v1.use(tagRoutes(createTagUseCases(store)));
  app.use("/v1", v1);
}
