/**
 * mcp-server's HTTP surface in-process against the real task-api: the RFC 9728 metadata, the
 * 401/403 challenges that send clients to it, and the limits in front of the MCP transport.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import { TEST_PUBLIC_URL } from "../support/task-api.ts";
import { call, startMcpHarness, type McpHarness } from "./harness.ts";
import { postMcp } from "./tool-calls.ts";

let h: McpHarness;
let user: TestUser;
const lifecycle = { draining: false };
beforeAll(async () => {
  h = await startMcpHarness({
    lifecycle,
    config: { TOOL_CALLS_PER_MINUTE: 60, TOOL_CALL_BURST: 3, MAX_BODY_BYTES: 2048 },
  });
  user = await h.signUp();
});
afterAll(async () => {
  await h.close();
});

const rpc = (body: unknown, headers: Record<string, string> = {}) => postMcp(h.mcpUrl, body, headers);

const listTools = { jsonrpc: "2.0", id: 1, method: "tools/list" };

describe("protected-resource metadata (RFC 9728)", () => {
  it("when a client looks at the path-suffixed or the root location, then it finds the resource and task-api as its authorization server", async () => {
    for (const path of [
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const res = await fetch(`${h.baseUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(await res.json()).toEqual({
        resource: h.mcpUrl,
        authorization_servers: [TEST_PUBLIC_URL],
        scopes_supported: ["tasks:read", "tasks:write"],
        bearer_methods_supported: ["header"],
        resource_name: "taskmesh MCP server",
        resource_documentation: "https://taskmesh.dev/docs/mcp",
      });
    }
  });

  // fetch cannot set Host; node:http can.
  const statusWithHost = (host: string) =>
    new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        `${h.baseUrl}/.well-known/oauth-protected-resource`,
        { headers: { host } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on("error", reject);
      req.end();
    });

  it("when the Host is not this server's, then the metadata is refused too", async () => {
    expect(await statusWithHost("evil.example")).toBe(403);
  });

  it("when the server is on loopback, then every loopback name is its host, on any port", async () => {
    const port = new URL(h.baseUrl).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "[::1]", "127.0.0.1:1"]) {
      expect(await statusWithHost(host), host).toBe(200);
    }
    expect(await statusWithHost(`evil.example:${port}`)).toBe(403);
  });
});

describe("bearer tokens", () => {
  const challenge = (res: Response) => res.headers.get("www-authenticate") ?? "";
  const metadata = () => `resource_metadata="${h.baseUrl}/.well-known/oauth-protected-resource/mcp"`;

  it("when no token is sent, then 401 with a challenge naming the metadata and the scopes", async () => {
    const res = await rpc(listTools);
    expect(res.status).toBe(401);
    expect(challenge(res)).toBe(`Bearer realm="taskmesh", ${metadata()}, scope="tasks:read tasks:write"`);
  });

  it("when the token is unknown, revoked, or task-api's own (another audience), then 401 invalid_token", async () => {
    const pat = await h.personalAccessToken(user, "read-write");
    await h.api.request.delete(`/v1/tokens/${pat.id}`).set(user.auth).expect(204);
    for (const token of [`tmpat_${"A".repeat(43)}`, pat.token, user.accessToken, "not-a-token"]) {
      const res = await rpc(listTools, { authorization: `Bearer ${token}` });
      expect(res.status, token).toBe(401);
      expect(challenge(res)).toContain('error="invalid_token"');
      expect(challenge(res)).toContain(metadata());
    }
  });

  it("when the token is a resource token for this server or a personal access token, then the call is served", async () => {
    for (const token of [await h.resourceToken(user), (await h.personalAccessToken(user, "read")).token]) {
      const res = await rpc(listTools, { authorization: `Bearer ${token}` });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { result: { tools: unknown[] } }).result.tools).toHaveLength(14);
    }
  });

  it("when a tasks:read token calls a writing tool, then 403 insufficient_scope; reading tools work", async () => {
    const token = await h.resourceToken(user, "tasks:read");
    const client = await h.client(token);
    await expect(client.callTool({ name: "add_task", arguments: { title: "no" } })).rejects.toThrow(/403/);
    expect((await call(client, "list_tasks", {})).isError ?? false).toBe(false);
  });
});

describe("limits", () => {
  it("when the body is larger than MAX_BODY_BYTES, then 413", async () => {
    const token = (await h.personalAccessToken(user, "read-write")).token;
    const res = await rpc(
      {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "add_task", arguments: { title: "x".repeat(4000) } },
      },
      { authorization: `Bearer ${token}` },
    );
    expect(res.status).toBe(413);
  });

  it("when a user calls tools faster than the limit, then 429 with Retry-After", async () => {
    const someone = await h.signUp();
    const token = (await h.personalAccessToken(someone, "read")).token;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await rpc(
        { jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "list_tags", arguments: {} } },
        { authorization: `Bearer ${token}` },
      );
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
  });
});

describe("the rest of the surface", () => {
  it("when a client opens GET /mcp (no stream on a stateless server), then 405 with Allow: POST", async () => {
    const token = (await h.personalAccessToken(user, "read")).token;
    const res = await fetch(h.mcpUrl, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /stateless; use POST/,
    );
  });

  it("when the body is not JSON, then 415 (wrong media type) or 400 (malformed)", async () => {
    const token = (await h.personalAccessToken(user, "read")).token;
    const auth = { authorization: `Bearer ${token}` };
    expect((await rpc("{not json", auth)).status).toBe(400);
    expect((await rpc("hello", { ...auth, "content-type": "text/plain" })).status).toBe(415);
  });

  it("when probes and unknown paths are asked on the public listener, then health answers and /metrics and the rest are 404", async () => {
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(200);
    lifecycle.draining = true;
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(503);
    lifecycle.draining = false;
    // /metrics is on the operations listener only (test/core/listeners.test.ts).
    expect((await fetch(`${h.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${h.baseUrl}/nothing`)).status).toBe(404);
  });
});
