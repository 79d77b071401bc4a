import { runService, serveService } from "@taskmesh/core";
import { composeRecurringTasks } from "./compose.ts";
import { loadRecurringTasksConfig } from "./config.ts";

runService("recurring-tasks", async () => {
  const config = loadRecurringTasksConfig();
  await serveService(composeRecurringTasks(config), config);
});
