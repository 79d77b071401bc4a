import { currentBearer, type TokenScope } from "@taskmesh/auth";
import type { Logger } from "@taskmesh/core";
import express, { type Router } from "express";
import type { TaskApi } from "../data/task-api.client.ts";
import { buildMcpServer } from "../mcp/server.ts";
import { JsonResponseTransport } from "./json-response.transport.ts";

/**
 * The tools a JSON-RPC body calls when every message in it is a tools/call (the common
 * request of an agent); undefined when it holds anything else.
 */
export function toolsCalledOnly(body: unknown): ReadonlySet<string> | undefined {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  const names = new Set<string>();
  for (const message of messages) {
    const m = message as { method?: unknown; params?: { name?: unknown } } | null;
    if (m?.method !== "tools/call" || typeof m.params?.name !== "string") return undefined;
    names.add(m.params.name);
  }
  return names.size > 0 ? names : undefined;
}

/**
 * POST /mcp: Streamable HTTP, stateless. Every request gets its own McpServer and transport
 * for the authenticated user, so any replica serves any call and nothing outlives the request.
 * The server is built from definitions prepared once (server.ts) and holds only what the
 * request can reach; the transport answers in JSON (json-response.transport.ts).
 * Hence no GET stream (405): server-initiated messages such as resource updates have no
 * channel here (see README: subscriptions are offered over stdio only).
 */
export function mcpRoutes(deps: { taskApiFor: (userId: string, scope: TokenScope) => TaskApi }): Router {
  const router = express.Router();
  router.post("/", async (req, res) => {
    const identity = currentBearer(res);
    const server = buildMcpServer({
      taskApi: deps.taskApiFor(identity.userId, identity.scope),
      canWrite: identity.scope === "read-write",
      onlyTools: toolsCalledOnly(req.body),
      // Where a call failed (task-api's status, daprd's error) goes to the log, never to the model.
      onToolError: (tool, err) => {
        (req.log as Logger | undefined)?.warn({ err, tool }, "tool call failed");
      },
    });
    const transport = new JsonResponseTransport();
    res.on("close", () => {
      void server.close();
    });
    await server.connect(transport);
    transport.handle(req, res, req.body);
  });
  router.all("/", (_req, res) => {
    res
      .status(405)
      .set("Allow", "POST")
      .json({
        jsonrpc: "2.0",
        error: { code: -32000, message: "Method not allowed: this server is stateless; use POST." },
        id: null,
      });
  });
  return router;
}
