import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";
import { createTaskApi, restTransport } from "../data/task-api.client.ts";
import { buildMcpServer } from "./server.ts";

// The stdio entry's environment: a desktop client's, not the HTTP service's (config.ts).
const schema = z.object({
  /** A personal access token (POST /v1/tokens on task-api). */
  TASKMESH_TOKEN: z.string().min(1),
  /** task-api's public URL. */
  TASKMESH_API_URL: z.url().default("http://localhost:3000"),
  /** How often subscribed resources are re-read to notice changes (at least 1 s). */
  TASKMESH_POLL_MS: env.int(15_000),
});

export type StdioConfig = z.infer<typeof schema>;

export function loadStdioConfig(source: Record<string, string | undefined> = process.env): StdioConfig {
  return loadConfig(schema, source);
}

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
