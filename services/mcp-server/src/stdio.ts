/**
 * The stdio MCP server for desktop clients (`npx taskmesh-mcp` or `npm run mcp:stdio`):
 * TASKMESH_TOKEN = a personal access token, TASKMESH_API_URL = task-api's public URL. It runs on
 * the user's machine, where no sidecar is, so it calls task-api's REST API with the user's own
 * token (the token was issued for that API; nothing is passed through on someone's behalf).
 * Writing with a read-only token is refused by task-api (403) and reported as isError.
 * stdout carries only MCP messages: logs go to stderr.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";
import { createTaskApi, restTransport } from "./data/task-api.client.ts";
import { buildMcpServer } from "./server.ts";

const schema = z.object({
  TASKMESH_TOKEN: z.string().min(1),
  TASKMESH_API_URL: z.url().default("http://localhost:3000"),
  /** How often subscribed resources are re-read to notice changes. */
  TASKMESH_POLL_MS: env.int(15_000),
});

async function main(): Promise<void> {
  const config = loadConfig(schema, process.env);
  const server = buildMcpServer({
    taskApi: createTaskApi(restTransport(config.TASKMESH_API_URL, config.TASKMESH_TOKEN)),
    canWrite: true,
    subscriptions: { pollMs: Math.max(1000, config.TASKMESH_POLL_MS) },
  });
  const transport = new StdioServerTransport();
  await server.connect(transport);
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`taskmesh-mcp failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
