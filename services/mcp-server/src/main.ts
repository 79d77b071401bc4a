import { runService, serveService } from "@taskmesh/core";
import { composeMcpServer } from "./compose.ts";
import { loadMcpServerConfig } from "./config.ts";

runService("mcp-server", async () => {
  const config = loadMcpServerConfig();
  await serveService(composeMcpServer(config), config);
});
