/**
 * The stdio entry for desktop clients (`npx taskmesh-mcp` or `npm run mcp:stdio`), configured by
 * TASKMESH_TOKEN (a personal access token) and TASKMESH_API_URL (task-api's public URL); see
 * mcp/stdio-server.ts. stdout carries only MCP messages: errors go to stderr.
 */
import { runService } from "@taskmesh/core";
import { loadStdioConfig, startStdioServer } from "./mcp/stdio-server.ts";

runService("taskmesh-mcp", async () => {
  const server = await startStdioServer(loadStdioConfig());
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
});
