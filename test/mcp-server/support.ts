/**
 * Helpers for MCP tests against a running stack (test/support/stack.ts): users, their tokens
 * (session, resource-bound access token for the MCP server, personal access tokens) and real
 * MCP clients from the SDK over Streamable HTTP and stdio.
 */
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, expect } from "vitest";
import type { TestStack } from "../support/stack.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { postMcp } from "./tool-calls.ts";

export { call, ok, textOf, type Task } from "./tool-calls.ts";

const root = path.resolve(import.meta.dirname, "../..");

/** The mcp-server's resource URL in a stack: what tokens must name as audience. */
export function mcpResource(s: TestStack): string {
  return `${s.urls["mcp-server"] ?? ""}/mcp`;
}

/** Stack env for task-api and mcp-server so resource tokens for this stack's mcp-server are issued and accepted. */
export const MCP_STACK_ENV = {
  "task-api": { PROTECTED_RESOURCES: "http://127.0.0.1:{port:mcp-server}/mcp" },
  "mcp-server": {
    MCP_RESOURCE_URL: "http://127.0.0.1:{port:mcp-server}/mcp",
    ALLOWED_ORIGINS: "http://localhost:6274",
  },
};

export interface McpUser {
  id: string;
  /** Better Auth session token (bearer). */
  session: string;
}

async function api(
  s: TestStack,
  bearer: string | undefined,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${s.urls["task-api"] ?? ""}${route}`, {
    method,
    headers: {
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as unknown) : undefined,
    headers: response.headers,
  };
}

export { api as taskApiCall };

export async function signUp(s: TestStack, timeZone = "Europe/Berlin"): Promise<McpUser> {
  const { id, sessionToken } = await signUpThroughTaskApi(s.urls["task-api"] ?? "", {
    name: "Agent Tester",
    timeZone,
  });
  if (!sessionToken) throw new Error("sign-up returned no set-auth-token");
  return { id, session: sessionToken };
}

/** A JWT access token bound to the MCP server (aud = its resource URL), as an OAuth client would get. */
export async function resourceToken(s: TestStack, user: McpUser, scope?: string): Promise<string> {
  const query = new URLSearchParams({ resource: mcpResource(s), ...(scope ? { scope } : {}) });
  const res = await api(s, user.session, "GET", `/api/auth/token?${query.toString()}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body as { token: string }).token;
}

/** task-api's own access token (aud "taskmesh"): valid for the REST API, not for the MCP server. */
export async function restAccessToken(s: TestStack, user: McpUser): Promise<string> {
  const res = await api(s, user.session, "GET", "/api/auth/token");
  expect(res.status).toBe(200);
  return (res.body as { token: string }).token;
}

/** A personal access token (POST /v1/tokens with the session). */
export async function personalAccessToken(
  s: TestStack,
  user: McpUser,
  scope: "read" | "read-write",
): Promise<{ id: string; token: string }> {
  const res = await api(s, user.session, "POST", "/v1/tokens", { name: `mcp test ${scope}`, scope });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; token: string };
}

/** A connected SDK client over Streamable HTTP with the bearer token. */
export async function httpClient(s: TestStack, token: string): Promise<Client> {
  const client = new Client({ name: "taskmesh-tests", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpResource(s)), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

/** A connected SDK client over stdio: dist/stdio.js with TASKMESH_TOKEN, talking to task-api's REST API. */
export async function stdioClient(
  s: TestStack,
  token: string,
  extraEnv: Record<string, string> = {},
): Promise<Client> {
  const client = new Client({ name: "taskmesh-tests-stdio", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: path.join(root, "node_modules/.bin/node"),
      args: [path.join(root, "services/mcp-server/dist/stdio.js")],
      cwd: root,
      env: {
        PATH: process.env.PATH ?? "",
        TASKMESH_TOKEN: token,
        TASKMESH_API_URL: s.urls["task-api"] ?? "",
        ...extraEnv,
      },
      stderr: "pipe",
    }),
  );
  return client;
}

/** An array for the clients a describe block opens: its afterAll closes every one. */
export function clientsClosedAfterAll(): Client[] {
  const clients: Client[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });
  return clients;
}

/** A raw JSON-RPC POST to /mcp (for HTTP-level checks). */
export async function rawMcp(
  s: TestStack,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await postMcp(mcpResource(s), body, headers);
  return { status: response.status, headers: response.headers, text: await response.text() };
}
