import {
  createBearerVerifier,
  introspectionFromSidecar,
  jwksFromSidecar,
  preloadJwks,
  type BearerVerifier,
  type PreloadedJwks,
  type TokenScope,
} from "@taskmesh/auth";
import { serviceParts, type ComposedService, type ServiceOverrides } from "@taskmesh/core";
import { sidecarClientFromConfig, type SidecarClient } from "@taskmesh/dapr";
import { createApp } from "./app.ts";
import type { McpServerConfig } from "./config.ts";
import { sidecarTransport, type TaskApiTransport } from "./data/task-api.client.ts";
import { isLoopback } from "./http/host-origin.guard.ts";

/** What a test may put in place of what compose builds from the config. */
export interface McpServerOverrides extends ServiceOverrides {
  /** This app's daprd: task-api's keys, token introspection and every call to task-api. */
  sidecar?: Pick<SidecarClient, "invoke">;
  /** task-api's keys; default: through the sidecar, loaded at start. */
  jwks?: PreloadedJwks;
  /** Checks the bearer tokens; default: JWTs with `jwks`, personal access tokens introspected at task-api. */
  verifyBearer?: BearerVerifier;
  /** How task-api is reached for a user; default: sidecarTransport through the sidecar. */
  taskApiFor?: (userId: string, scope: TokenScope) => TaskApiTransport;
}

export interface McpServerService extends ComposedService {
  jwks: PreloadedJwks;
}

/** mcp-server's composition root: main.ts serves what it returns, and the tests build the same. */
export function composeMcpServer(
  config: McpServerConfig,
  overrides: McpServerOverrides = {},
): McpServerService {
  const parts = serviceParts("mcp-server", config, overrides);
  const { logger } = parts;
  const sidecar = overrides.sidecar ?? sidecarClientFromConfig(config);
  const resource = new URL(config.MCP_RESOURCE_URL);
  // task-api's keys (for OAuth JWTs), loaded at start and retried until task-api and the
  // sidecars answer: /readyz is 503 until then; a failing refresh keeps the last keys.
  const jwks =
    overrides.jwks ?? preloadJwks(jwksFromSidecar(sidecar, { appId: config.TASK_API_APP_ID }), { logger });
  const app = createApp({
    ...parts,
    // Only tokens for this server: JWTs whose aud is the MCP endpoint's URL, or personal access
    // tokens introspected at task-api. The token itself never goes anywhere else.
    verifyBearer:
      overrides.verifyBearer ??
      createBearerVerifier({
        jwks,
        issuer: config.AUTH_ISSUER,
        audience: resource.href,
        introspect: introspectionFromSidecar(sidecar, { appId: config.TASK_API_APP_ID }),
        introspectionCacheMs: config.TOKEN_CACHE_SECONDS * 1000,
        negativeCacheMs: config.TOKEN_NEGATIVE_CACHE_SECONDS * 1000,
      }),
    taskApiFor:
      overrides.taskApiFor ??
      ((userId, scope) => sidecarTransport(sidecar, config.TASK_API_APP_ID, userId, scope)),
    resource,
    authorizationServer: config.AUTH_ISSUER,
    // Listening on loopback only, it is reached by loopback names: the guard then takes them all.
    allowedHosts: isLoopback(config.HOST) ? [config.HOST, ...config.ALLOWED_HOSTS] : config.ALLOWED_HOSTS,
    allowedOrigins: config.ALLOWED_ORIGINS,
    toolCallsPerMinute: config.TOOL_CALLS_PER_MINUTE,
    toolCallBurst: config.TOOL_CALL_BURST,
    ipRequestsPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    maxBodyBytes: config.MAX_BODY_BYTES,
    readiness: { signingKeys: () => jwks.check() },
  });
  return {
    name: "mcp-server",
    app,
    ...parts,
    jwks,
    start: () => {
      jwks.start();
    },
    // Only the key retries to stop: every call goes to the sidecar over plain fetch; no sessions.
    close: () => {
      jwks.stop();
      return Promise.resolve();
    },
    // The ready line names the MCP endpoint, not the bare origin.
    readyInfo: (base) => ({ url: `${base}/mcp` }),
  };
}
