import { createServiceApp, jsonBody, type ReadinessCheck, type ServiceDeps } from "@taskmesh/core";
import { OAUTH_SCOPES, requireBearer, type BearerVerifier, type TokenScope } from "@taskmesh/auth";
import type { Express } from "express";
import { createTaskApi, type TaskApiTransport } from "./data/task-api.client.ts";
import { hostOriginGuard } from "./http/host-origin.guard.ts";
import { mcpRoutes } from "./http/mcp.routes.ts";
import { metadataRoutes, resourceMetadataUrl } from "./http/metadata.routes.ts";
import { perIpLimit } from "./http/ip-limit.ts";
import { taskApiCallsOf } from "./http/request-cost.ts";
import { toolCallLimits } from "./http/tool-call-limits.ts";
import { WRITING_TOOLS } from "./tools/index.ts";

export interface McpServerDeps extends ServiceDeps {
  verifyBearer: BearerVerifier;
  /**
   * How task-api is reached for a user: in compose.ts through this app's own daprd
   * (sidecarTransport; task-api trusts the user id because the call came from app mcp-server).
   */
  taskApiFor: (userId: string, scope: TokenScope) => TaskApiTransport;
  /** The MCP endpoint's URL as clients know it: the OAuth resource identifier. */
  resource: URL;
  /** task-api's public URL: the authorization server. */
  authorizationServer: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  /** Per user, counted in task-api calls (http/request-cost.ts). */
  toolCallsPerMinute: number;
  toolCallBurst: number;
  /** Requests per minute per client IP before the bearer token is looked at; 0 = off. */
  ipRequestsPerMinute: number;
  /** Express "trust proxy" hops in front (ingress): which address is the client's. */
  trustProxyHops: number;
  maxBodyBytes: number;
  /**
   * /readyz checks besides draining; compose.ts: `signingKeys` (task-api's keys, preloadJwks), so
   * the pod takes no traffic until OAuth JWTs can be checked, whatever the start order.
   */
  readiness?: Record<string, ReadinessCheck>;
}

/** The mcp-server Express app, without listening: compose.ts builds it for main.ts and the tests. */
export function createApp(deps: McpServerDeps): Express {
  const metadataUrl = resourceMetadataUrl(deps.resource);
  return createServiceApp(
    {
      service: "mcp-server",
      ...deps, // logger, lifecycle, metrics
      // Readiness is draining and task-api's signing keys (loaded at start and retried until they
      // are there): task-api itself is not this app's to probe; an unreachable one shows per call
      // (isError "unavailable", 503 for token checks), with a detail that says to try again.
      readiness: deps.readiness ?? {},
      trustProxyHops: deps.trustProxyHops,
    },
    (app) => {
      // Everything a client reaches checks Host (and Origin) first: DNS-rebinding protection.
      const guard = hostOriginGuard({
        allowedHosts: [deps.resource.host, ...deps.allowedHosts],
        allowedOrigins: [deps.resource.origin, ...deps.allowedOrigins],
      });
      // Before anything that costs work for a caller nobody knows yet: bearer verification (an
      // introspection and a database query for every tmpat_ token) and the metadata.
      app.use(["/mcp", "/.well-known"], perIpLimit({ perMinute: deps.ipRequestsPerMinute }));
      app.use("/.well-known", guard);
      app.use(metadataRoutes({ resource: deps.resource, authorizationServer: deps.authorizationServer }));
      app.use(
        "/mcp",
        guard,
        requireBearer(deps.verifyBearer, {
          resourceMetadataUrl: metadataUrl,
          scope: `${OAUTH_SCOPES.read} ${OAUTH_SCOPES.write}`,
        }),
        jsonBody({ limit: String(deps.maxBodyBytes) }),
        toolCallLimits({
          writingTools: WRITING_TOOLS,
          perMinute: deps.toolCallsPerMinute,
          burst: deps.toolCallBurst,
          resourceMetadataUrl: metadataUrl,
          cost: taskApiCallsOf,
        }),
        mcpRoutes({ taskApiFor: (userId, scope) => createTaskApi(deps.taskApiFor(userId, scope)) }),
      );
    },
  ).app;
}
