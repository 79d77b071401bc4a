import { runService, serveService } from "@taskmesh/core";
import { composeNotifications } from "./compose.ts";
import { loadNotificationsConfig } from "./config.ts";

runService("notifications", async () => {
  const config = loadNotificationsConfig();
  await serveService(await composeNotifications(config), config);
});
