/**
 * The stdio entry for desktop clients (`npx taskmesh-mcp` or `npm run mcp:stdio`), configured by
 * TASKMESH_TOKEN (a personal access token) and TASKMESH_API_URL (task-api's public URL); see
 * stdio-server.ts. stdout carries only MCP messages: errors go to stderr.
 */
import { loadStdioConfig, startStdioServer } from "./mcp/stdio-server.ts";

async function main(): Promise<void> {
  const server = await startStdioServer(loadStdioConfig(process.env));
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
