import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { StdioConfig } from "../config.ts";
import { createTaskApi, restTransport } from "../data/task-api.client.ts";
import { buildMcpServer } from "./server.ts";

/**
 * The stdio MCP server of a desktop client: it runs on the user's machine, where no sidecar
 * is, so it calls task-api's REST API with the user's own token (issued for that API; nothing
 * is passed through on someone's behalf). Writing with a read-only token is refused by task-api
 * (403) and reported as isError. Resource subscriptions work here, over the one long-lived
 * connection, by re-reading subscribed resources every TASKMESH_POLL_MS.
 */
export async function startStdioServer(
  config: StdioConfig,
  streams: { input?: Readable; output?: Writable } = {},
): Promise<McpServer> {
  const server = buildMcpServer({
    taskApi: createTaskApi(restTransport(config.TASKMESH_API_URL, config.TASKMESH_TOKEN)),
    canWrite: true,
    subscriptions: { pollMs: Math.max(1000, config.TASKMESH_POLL_MS) },
  });
  await server.connect(new StdioServerTransport(streams.input, streams.output));
  return server;
}
