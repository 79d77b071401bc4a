import { runService, serveService } from "@taskmesh/core";
import { composeTaskApi } from "./compose.ts";
import { loadTaskApiConfig } from "./config.ts";

runService("task-api", async () => {
  const config = loadTaskApiConfig();
  await serveService(await composeTaskApi(config), config);
});
