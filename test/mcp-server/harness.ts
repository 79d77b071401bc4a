/**
 * mcp-server in-process, on the real task-api (test/support/task-api.ts: the real app on a
 * database of its own), so coverage sees services/mcp-server/src. What the two Dapr sidecars do
 * between them is played by `taskApiSidecar`: it delivers mcp-server's service invocations to
 * task-api with the headers task-api's sidecar adds (task-api's APP_API_TOKEN, the caller's app
 * id). The same calls through real daprd with mTLS are in test/stack/mcp-*.test.ts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createLogger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import { afterAll, beforeAll, expect } from "vitest";
import { composeMcpServer, type McpServerOverrides } from "../../services/mcp-server/src/compose.ts";
import { loadMcpServerConfig, type McpServerConfig } from "../../services/mcp-server/src/config.ts";
import type { TaskApiDeps } from "../../services/task-api/src/app.ts";
import { lateBound } from "../support/late-bound.ts";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "../support/task-api.ts";

export { call, failed, ok, textOf, type BatchResult, type Task } from "./tool-calls.ts";

/** task-api's APP_API_TOKEN in these tests: what its sidecar sends with every delivered call. */
export const TASK_API_APP_TOKEN = "task-api-app-token-for-mcp-tests";

/**
 * Service invocation of task-api as its sidecar delivers it to the app: the path and query on
 * task-api, the caller's headers, plus dapr-api-token (task-api's app token) and
 * dapr-caller-app-id (the calling app's id, from its mTLS identity).
 */
export function taskApiSidecar(baseUrl: string, callerAppId = "mcp-server"): Pick<SidecarClient, "invoke"> {
  return {
    async invoke(_appId, method, request = {}) {
      const headers: Record<string, string> = {
        ...request.headers,
        "dapr-api-token": TASK_API_APP_TOKEN,
        "dapr-caller-app-id": callerAppId,
      };
      if (request.body !== undefined) headers["content-type"] = "application/json";
      return fetch(`${baseUrl}/${method.replace(/^\//, "")}${request.query ? `?${request.query}` : ""}`, {
        method: request.method ?? "GET",
        headers,
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
    },
  };
}

export interface McpHarness {
  api: TestTaskApi;
  /** task-api's base URL (http://127.0.0.1:port). */
  apiUrl: string;
  /** The MCP endpoint: http://127.0.0.1:port/mcp (the OAuth resource identifier too). */
  mcpUrl: string;
  /** mcp-server's origin. */
  baseUrl: string;
  signUp(options?: { timeZone?: string }): Promise<TestUser>;
  /** A JWT bound to this MCP server (aud = mcpUrl), optionally with an OAuth scope. */
  resourceToken(user: TestUser, scope?: string): Promise<string>;
  personalAccessToken(user: TestUser, scope: "read" | "read-write"): Promise<{ id: string; token: string }>;
  /** An SDK client over Streamable HTTP with the bearer token. */
  client(token: string): Promise<Client>;
  close(): Promise<void>;
}

/**
 * What a test changes of mcp-server: the composition root's overrides, and `config`, settings
 * on top of the harness's (e.g. TOOL_CALL_BURST).
 */
export type McpHarnessOverrides = McpServerOverrides & { config?: Partial<McpServerConfig> };

/**
 * mcp-server (composeMcpServer, as main.ts builds it) on port 0 in front of a fresh in-process
 * task-api, reached through `taskApiSidecar`; its signing keys are loaded before it returns.
 */
export async function startMcpHarness(
  overrides:
    McpHarnessOverrides | ((context: { mcpUrl: string; apiUrl: string }) => McpHarnessOverrides) = {},
  options: { taskApi?: Partial<TaskApiDeps> } = {},
): Promise<McpHarness> {
  // The resource URL names mcp-server's port, and task-api must know it before it starts.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mcpUrl = `${baseUrl}/mcp`;

  const api = await startTaskApi(
    {
      trustedCallers: { appApiToken: TASK_API_APP_TOKEN, appIds: ["recurring-tasks", "mcp-server"] },
      ...options.taskApi,
    },
    { protectedResources: [mcpUrl] },
  );
  const apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const sidecar = taskApiSidecar(apiUrl);
  const clients: Client[] = [];

  const { config: settings, ...compose } =
    typeof overrides === "function" ? overrides({ mcpUrl, apiUrl }) : overrides;
  const config: McpServerConfig = {
    ...loadMcpServerConfig({
      APP_API_TOKEN: "mcp-server-app-token",
      AUTH_ISSUER: TEST_PUBLIC_URL,
      MCP_RESOURCE_URL: mcpUrl,
      ALLOWED_ORIGINS: "http://localhost:6274",
      TOOL_CALLS_PER_MINUTE: "10000",
      TOOL_CALL_BURST: "1000",
      RATE_LIMIT_IP_PER_MINUTE: "0",
      MAX_BODY_BYTES: String(64 * 1024),
      // An active token is introspected every time, so a test sees a revocation at once.
      TOKEN_CACHE_SECONDS: "0",
      TOKEN_NEGATIVE_CACHE_SECONDS: "5",
      LOG_LEVEL: "silent",
    }),
    ...settings,
  };
  const service = composeMcpServer(config, {
    logger: createLogger({ service: "mcp-server", level: "silent" }),
    sidecar,
    ...compose,
  });
  service.start?.();
  // As a deployed mcp-server before it is ready: keys loaded (unless a test brings its own).
  if (!compose.jwks) await service.jwks();
  const { app } = service;
  server.on("request", app);

  return {
    api,
    apiUrl,
    mcpUrl,
    baseUrl,
    signUp: (options = {}) => api.signUp(options),
    async resourceToken(user, scope) {
      const res = await api.request
        .get("/api/auth/token")
        .query({ resource: mcpUrl, ...(scope ? { scope } : {}) })
        .set("Authorization", `Bearer ${user.sessionToken}`);
      expect(res.status, res.text).toBe(200);
      return (res.body as { token: string }).token;
    },
    async personalAccessToken(user, scope) {
      const res = await api.request
        .post("/v1/tokens")
        .set(user.auth)
        .send({ name: `mcp ${scope}`, scope });
      expect(res.status, res.text).toBe(201);
      return res.body as { id: string; token: string };
    },
    async client(token) {
      const client = new Client({ name: "taskmesh-mcp-tests", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcpUrl), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await service.close();
      await api.close();
    },
  };
}

/**
 * What a tool test starts with: a harness, one signed-up user, and an MCP client on that user's
 * personal access token ("read" or "read-write") or an OAuth JWT for this server ("oauth").
 */
export async function startAgent(
  token: "read" | "read-write" | "oauth",
  signUp: { timeZone?: string } = {},
): Promise<{ h: McpHarness; user: TestUser; client: Client }> {
  const h = await startMcpHarness();
  const user = await h.signUp(signUp);
  const secret =
    token === "oauth" ? await h.resourceToken(user) : (await h.personalAccessToken(user, token)).token;
  return { h, user, client: await h.client(secret) };
}

/**
 * startAgent for a whole file: started in beforeAll, closed in afterAll. The harness, user and
 * client it returns can be named at the top of the file and used inside tests.
 */
export function useAgent(
  token: "read" | "read-write" | "oauth",
  signUp: { timeZone?: string } = {},
): { h: McpHarness; user: TestUser; client: Client } {
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  beforeAll(async () => {
    agent = await startAgent(token, signUp);
  });
  afterAll(() => agent?.h.close());
  return {
    h: lateBound(() => agent?.h, "the MCP harness"),
    user: lateBound(() => agent?.user, "the user"),
    client: lateBound(() => agent?.client, "the MCP client"),
  };
}
