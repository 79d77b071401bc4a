import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { currentBearer } from "@taskmesh/auth";
import type { SidecarClient } from "@taskmesh/dapr";
import type { Logger } from "@taskmesh/core";
import express, { type Router } from "express";
import { createTaskApi, sidecarTransport } from "../data/task-api.client.ts";
import { buildMcpServer } from "../server.ts";

/**
 * POST /mcp: Streamable HTTP, stateless. Every request gets its own McpServer and transport
 * for the authenticated user, so any replica serves any call and nothing outlives the request.
 * Hence no GET stream (405): server-initiated messages such as resource updates have no
 * channel here (see README: subscriptions are offered over stdio only).
 */
export function mcpRoutes(deps: { sidecar: SidecarClient; taskApiAppId: string; logger: Logger }): Router {
  const router = express.Router();
  router.post("/", async (req, res) => {
    const identity = currentBearer(res);
    const server = buildMcpServer({
      taskApi: createTaskApi(sidecarTransport(deps.sidecar, deps.taskApiAppId, identity.userId)),
      canWrite: identity.scope === "read-write",
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
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
