/**
 * The mcp-server as an OAuth resource server and its HTTP guards, through the real stack:
 * protected-resource metadata, 401 challenges, audience, revoked tokens, read-only tokens (403
 * insufficient_scope), cross-user isolation, Host/Origin (DNS rebinding), 413 and 429.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import { useStack, type TestStack } from "../support/stack.ts";
import {
  call,
  clientsClosedAfterAll,
  httpClient,
  MCP_STACK_ENV,
  mcpResource,
  ok,
  personalAccessToken,
  rawMcp,
  resourceToken,
  restAccessToken,
  signUp,
  taskApiCall,
  textOf,
  type McpUser,
} from "../mcp-server/support.ts";

/** POST ping to /mcp with a chosen Host header. */
function rawHost(s: TestStack, host: string, headers: Record<string, string>): Promise<{ status: number }> {
  const target = new URL(mcpResource(s));
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          ...headers,
          host,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0 });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const toolCall = (name: string, args: Record<string, unknown>, id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

describe("mcp-server authorization and guards through the real stack", () => {
  const stack = useStack({
    apps: ["task-api", "audit-log", "mcp-server"],
    env: {
      ...MCP_STACK_ENV,
      "mcp-server": {
        ...MCP_STACK_ENV["mcp-server"],
        ALLOWED_HOSTS: "localhost",
        ALLOWED_ORIGINS: "http://localhost",
        TOKEN_CACHE_SECONDS: "0",
        TOOL_CALLS_PER_MINUTE: "30",
        TOOL_CALL_BURST: "20",
        MAX_BODY_BYTES: "8192",
      },
    },
  });
  let s: TestStack;
  let alice: McpUser;
  let bob: McpUser;
  let aliceClient: Client;
  let bobClient: Client;
  let aliceToken: string;
  const clients = clientsClosedAfterAll();

  beforeAll(async () => {
    s = stack();
    [alice, bob] = await Promise.all([signUp(s), signUp(s)]);
    aliceToken = (await personalAccessToken(s, alice, "read-write")).token;
    aliceClient = await httpClient(s, aliceToken);
    bobClient = await httpClient(s, (await personalAccessToken(s, bob, "read-write")).token);
    clients.push(aliceClient, bobClient);
  });

  it("when a client fetches the protected-resource metadata, then it names this resource, task-api as authorization server and the scopes", async () => {
    const base = s.urls["mcp-server"] ?? "";
    for (const path of [
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        resource: mcpResource(s),
        // task-api's PUBLIC_URL (the issuer of its tokens) in the stack is localhost:<port>.
        authorization_servers: [`http://localhost:${new URL(s.urls["task-api"] ?? "").port}`],
        scopes_supported: ["tasks:read", "tasks:write"],
        bearer_methods_supported: ["header"],
      });
    }
  });

  it("when a request has no token, then 401 with a challenge pointing at the metadata and no error code", async () => {
    const res = await rawMcp(s, { jsonrpc: "2.0", id: 1, method: "ping" });
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(
      `resource_metadata="${s.urls["mcp-server"] ?? ""}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(challenge).not.toContain("error=");
  });

  it("when the token is garbage, task-api's own REST token (other audience) or a revoked PAT, then 401 invalid_token", async () => {
    const pat = await personalAccessToken(s, alice, "read-write");
    expect(
      (await rawMcp(s, { jsonrpc: "2.0", id: 1, method: "ping" }, { authorization: `Bearer ${pat.token}` }))
        .status,
    ).toBe(200);
    expect((await taskApiCall(s, alice.session, "DELETE", `/v1/tokens/${pat.id}`)).status).toBe(204);

    for (const token of [
      "not-a-token",
      `tmpat_${"x".repeat(40)}`,
      await restAccessToken(s, alice),
      pat.token,
    ]) {
      const res = await rawMcp(
        s,
        { jsonrpc: "2.0", id: 1, method: "ping" },
        { authorization: `Bearer ${token}` },
      );
      expect(res.status, token.slice(0, 12)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    }
  });

  it("when a read-only token calls a writing tool, then 403 insufficient_scope naming tasks:write; reading tools work", async () => {
    const readPat = (await personalAccessToken(s, alice, "read")).token;
    const readJwt = await resourceToken(s, alice, "tasks:read");
    for (const token of [readPat, readJwt]) {
      const auth = { authorization: `Bearer ${token}` };
      const read = await rawMcp(s, toolCall("list_tasks", {}), auth);
      expect(read.status).toBe(200);
      const write = await rawMcp(s, toolCall("add_task", { title: "nope" }), auth);
      expect(write.status).toBe(403);
      const challenge = write.headers.get("www-authenticate") ?? "";
      expect(challenge).toMatch(/error="insufficient_scope"/);
      expect(challenge).toMatch(/scope="tasks:read tasks:write"/);
      expect(challenge).toContain("resource_metadata=");
    }
    const client = await httpClient(s, readPat);
    clients.push(client);
    await expect(client.callTool({ name: "delete_task", arguments: { id: randomUUID() } })).rejects.toThrow(
      /403/,
    );
    expect((await client.listTools()).tools.length).toBe(14);
  });

  it("when Bob's agent targets Alice's task, then it is not found exactly like a task that does not exist, and Alice's task is untouched", async () => {
    const task = (
      await ok<{ task: { id: string; version: number } }>(aliceClient, "add_task", {
        title: "Alice's secret",
      })
    ).task;
    const stranger = randomUUID();
    const attempts: [string, (id: string) => Record<string, unknown>][] = [
      ["get_task", (id) => ({ id })],
      ["update_task", (id) => ({ id, changes: { title: "pwned" } })],
      ["complete_task", (id) => ({ id })],
      ["reopen_task", (id) => ({ id })],
      ["delete_task", (id) => ({ id })],
      ["get_task_history", (id) => ({ id })],
    ];
    for (const [tool, args] of attempts) {
      const theirs = await call(bobClient, tool, args(task.id));
      const none = await call(bobClient, tool, args(stranger));
      expect(theirs.isError, tool).toBe(true);
      expect(textOf(theirs), tool).toBe(textOf(none));
    }
    const batch = await ok<{ items: { ok: boolean; error?: { code: string } }[] }>(
      bobClient,
      "complete_tasks",
      {
        tasks: [{ id: task.id }, { id: stranger }],
      },
    ).catch(() => undefined);
    expect(batch).toBeUndefined(); // every item failed: isError
    const listed = await ok<{ tasks: { id: string }[] }>(bobClient, "list_tasks", {
      status: "all",
      limit: 100,
    });
    expect(listed.tasks.map((t) => t.id)).not.toContain(task.id);
    const after = (
      await ok<{ task: { title: string; completed: boolean; version: number } }>(aliceClient, "get_task", {
        id: task.id,
      })
    ).task;
    expect(after).toMatchObject({ title: "Alice's secret", completed: false, version: task.version });
  });

  it("when the Host or Origin is not this server's, then 403 before authentication; an allowed Origin passes", async () => {
    const auth = { authorization: `Bearer ${aliceToken}` };
    const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
    // fetch() may not set Host: node:http does.
    expect((await rawHost(s, "evil.example.com", auth)).status).toBe(403);
    expect((await rawHost(s, "evil.example.com", {})).status).toBe(403);
    expect((await rawMcp(s, ping, { ...auth, origin: "http://evil.example.com" })).status).toBe(403);
    expect((await rawMcp(s, ping, { ...auth, origin: "http://localhost:6274" })).status).toBe(200);
    const port = new URL(s.urls["mcp-server"] ?? "").port;
    expect((await rawHost(s, `localhost:${port}`, auth)).status).toBe(200);
  });

  it("when a request body is larger than allowed, then 413", async () => {
    const res = await rawMcp(s, toolCall("add_task", { title: "big", description: "x".repeat(9000) }), {
      authorization: `Bearer ${aliceToken}`,
    });
    expect(res.status).toBe(413);
  });

  it("when one user calls tools faster than the limit, then 429 with Retry-After; another user is not affected", async () => {
    const carol = await signUp(s);
    const token = (await personalAccessToken(s, carol, "read")).token;
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        rawMcp(s, toolCall("list_tags", {}, i), { authorization: `Bearer ${token}` }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => r.status !== 429).every((r) => r.status === 200)).toBe(true);
    // Non-tool messages are not counted, and other users have their own budget.
    expect(
      (await rawMcp(s, { jsonrpc: "2.0", id: 1, method: "ping" }, { authorization: `Bearer ${token}` }))
        .status,
    ).toBe(200);
    expect((await call(bobClient, "list_tags", {})).isError ?? false).toBe(false);
  });

  it("when a client opens the GET stream, then 405: the server is stateless", async () => {
    const response = await fetch(mcpResource(s), {
      headers: { accept: "text/event-stream", authorization: `Bearer ${aliceToken}` },
    });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });

  // Last: it restarts task-api and mcp-server.
  it("when mcp-server starts before task-api is up, then it is not ready until it has the keys, becomes ready by itself and serves tools/list with an OAuth JWT", async () => {
    const jwt = await resourceToken(s, alice);
    const ops = s.opsUrls["mcp-server"] ?? "";
    await s.kill("task-api", "app");
    // mcp-server starts while task-api is down: task-api's keys cannot be loaded.
    const mcpBack = s.restart("mcp-server", "app");
    mcpBack.catch(() => undefined);
    let notReady: Response | undefined;
    const until = Date.now() + 60_000;
    while (notReady === undefined && Date.now() < until) {
      const probe = await fetch(`${ops}/readyz`).catch(() => undefined);
      if (probe?.status === 503) notReady = probe;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(notReady?.status).toBe(503);
    expect(await notReady?.text()).toMatch(/signingKeys.*try again in a few seconds/);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await fetch(`${ops}/readyz`)).status).toBe(503);
    // A call meanwhile (the public port is open) is a 503 that says what to do, nothing internal.
    const early = await fetch(mcpResource(s), {
      method: "POST",
      headers: {
        authorization: `Bearer ${jwt}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBeTruthy();
    const earlyBody = await early.text();
    expect(earlyBody).toMatch(/try again in a few seconds/);
    expect(earlyBody).not.toMatch(/127\.0\.0\.1|localhost:\d|task-api|HTTP \d|ERR_|dial tcp/i);

    await s.restart("task-api", "app");
    // No restart of mcp-server: it retries on its own and becomes ready.
    await mcpBack;
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const client = await httpClient(s, jwt);
    clients.push(client);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("list_tasks");
  }, 240_000);
});
