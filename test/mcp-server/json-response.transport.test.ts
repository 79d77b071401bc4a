/**
 * The JSON-response transport against the SDK's own StreamableHTTPServerTransport (stateless,
 * enableJsonResponse), the one it replaces: the same requests must get the same status and body.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import express, { type Express } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTaskApi } from "../../services/mcp-server/src/data/task-api.client.ts";
import { JsonResponseTransport } from "../../services/mcp-server/src/http/json-response.transport.ts";
import { buildMcpServer } from "../../services/mcp-server/src/mcp/server.ts";

// Nothing here reaches task-api: these are protocol-level requests.
const taskApi = createTaskApi(() => Promise.reject(new Error("task-api is not part of this test")));

function app(kind: "sdk" | "ours"): Express {
  const a = express();
  a.use(express.json());
  a.post("/mcp", async (req, res) => {
    const server = buildMcpServer({ taskApi, canWrite: true });
    res.on("close", () => {
      void server.close();
    });
    if (kind === "sdk") {
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } else {
      const transport = new JsonResponseTransport();
      await server.connect(transport);
      transport.handle(req, res, req.body);
    }
  });
  return a;
}

const servers: Server[] = [];
const urls: Record<"sdk" | "ours", string> = { sdk: "", ours: "" };
beforeAll(async () => {
  for (const kind of ["sdk", "ours"] as const) {
    const server = app(kind).listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    servers.push(server);
    urls[kind] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  }
});
afterAll(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
});

const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};

async function post(url: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: res.headers.get("content-type")?.startsWith("application/json") ?? false,
    body: text === "" ? undefined : (JSON.parse(text) as unknown),
  };
}

const ping = (id: number) => ({ jsonrpc: "2.0", id, method: "ping" });
const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};

const cases: [string, unknown, Record<string, string>, number][] = [
  [
    "initialize without a protocol version header",
    initialize,
    { ...JSON_HEADERS, "mcp-protocol-version": "" },
    200,
  ],
  ["initialize", initialize, JSON_HEADERS, 200],
  ["a notification only", { jsonrpc: "2.0", method: "notifications/initialized" }, JSON_HEADERS, 202],
  ["ping", ping(7), JSON_HEADERS, 200],
  ["tools/list", { jsonrpc: "2.0", id: 2, method: "tools/list" }, JSON_HEADERS, 200],
  ["resources/list", { jsonrpc: "2.0", id: 2, method: "resources/list" }, JSON_HEADERS, 200],
  [
    "resources/templates/list",
    { jsonrpc: "2.0", id: 2, method: "resources/templates/list" },
    JSON_HEADERS,
    200,
  ],
  ["prompts/list", { jsonrpc: "2.0", id: 2, method: "prompts/list" }, JSON_HEADERS, 200],
  [
    "logging/setLevel",
    { jsonrpc: "2.0", id: 3, method: "logging/setLevel", params: { level: "error" } },
    JSON_HEADERS,
    200,
  ],
  ["an unknown method", { jsonrpc: "2.0", id: 4, method: "nope/nothing" }, JSON_HEADERS, 200],
  [
    "an unknown tool",
    { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "nope", arguments: {} } },
    JSON_HEADERS,
    200,
  ],
  [
    "arguments against the input schema",
    { jsonrpc: "2.0", id: 6, method: "tools/call", params: { name: "get_task", arguments: { id: 1 } } },
    JSON_HEADERS,
    200,
  ],
  ["a batch of two requests", [ping(1), ping(2)], JSON_HEADERS, 200],
  [
    "a batch of a request and a notification",
    [ping(1), { jsonrpc: "2.0", method: "notifications/initialized" }],
    JSON_HEADERS,
    200,
  ],
  ["initialize in a batch", [initialize, ping(2)], JSON_HEADERS, 400],
  ["a batch over 100 messages", Array.from({ length: 101 }, (_, i) => ping(i)), JSON_HEADERS, 400],
  ["not a JSON-RPC message", { hello: "world" }, JSON_HEADERS, 400],
  [
    "an unsupported protocol version",
    ping(1),
    { ...JSON_HEADERS, "mcp-protocol-version": "1999-01-01" },
    400,
  ],
  ["an Accept without text/event-stream", ping(1), { ...JSON_HEADERS, accept: "application/json" }, 406],
  ["no Accept", ping(1), { "content-type": "application/json", "mcp-protocol-version": "2025-11-25" }, 406],
  ["a body that is not JSON", "ping", { ...JSON_HEADERS, "content-type": "text/plain" }, 415],
];

describe("JsonResponseTransport answers as the SDK's stateless JSON transport does", () => {
  it.each(cases)(
    "when the request is %s, then the same status and body",
    async (_what, body, headers, status) => {
      const headersFor = (h: Record<string, string>) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== ""));
      const [sdk, ours] = [
        await post(urls.sdk, body, headersFor(headers)),
        await post(urls.ours, body, headersFor(headers)),
      ];
      expect(sdk.status).toBe(status);
      expect(ours).toEqual(sdk);
    },
  );

  it("when one transport is asked to serve a second request, then it refuses (one per request, as the SDK's)", () => {
    const transport = new JsonResponseTransport();
    const res = { status: () => ({ json: () => undefined, end: () => undefined }) } as never;
    const req = {
      headers: { accept: "application/json, text/event-stream", "content-type": "application/json" },
    } as never;
    transport.handle(req, res, { jsonrpc: "2.0", method: "notifications/initialized" });
    expect(() => {
      transport.handle(req, res, {});
    }).toThrow(/serves one request/);
  });
});
