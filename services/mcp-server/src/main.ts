import { createLogger, serve, type Lifecycle } from "@taskmesh/core";
import { createBearerVerifier, introspectionFromSidecar, jwksFromSidecar, preloadJwks } from "@taskmesh/auth";
import { createSidecarClient } from "@taskmesh/dapr";
import { createApp } from "./app.ts";
import { loadMcpServerConfig } from "./config.ts";
import { sidecarTransport } from "./data/task-api.client.ts";
import { isLoopback } from "./http/host-origin.guard.ts";

async function main(): Promise<void> {
  const config = loadMcpServerConfig();
  const logger = createLogger({ service: "mcp-server", level: config.LOG_LEVEL });
  const sidecar = createSidecarClient({
    baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
    apiToken: config.DAPR_API_TOKEN,
  });
  const resource = new URL(config.MCP_RESOURCE_URL);
  const lifecycle: Lifecycle = { draining: false };
  // task-api's keys (for OAuth JWTs), loaded at start and retried until task-api and the
  // sidecars answer: /readyz is 503 until then; a failing refresh keeps the last keys.
  const jwks = preloadJwks(jwksFromSidecar(sidecar, { appId: config.TASK_API_APP_ID }), { logger });
  jwks.start();
  const app = createApp({
    logger,
    lifecycle,
    // Only tokens for this server: JWTs whose aud is the MCP endpoint's URL, or personal access
    // tokens introspected at task-api. The token itself never goes anywhere else.
    verifyBearer: createBearerVerifier({
      jwks,
      issuer: config.AUTH_ISSUER,
      audience: resource.href,
      introspect: introspectionFromSidecar(sidecar, { appId: config.TASK_API_APP_ID }),
      introspectionCacheMs: config.TOKEN_CACHE_SECONDS * 1000,
      negativeCacheMs: config.TOKEN_NEGATIVE_CACHE_SECONDS * 1000,
    }),
    taskApiFor: (userId, scope) => sidecarTransport(sidecar, config.TASK_API_APP_ID, userId, scope),
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

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    // Only the key retries to stop: every call goes to the sidecar over plain fetch; no sessions.
    onClose: () => {
      jwks.stop();
      return Promise.resolve();
    },
  });
  logger.info({ url: `http://localhost:${running.port}/mcp`, ports: running.ports }, "mcp-server ready");
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `mcp-server failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
