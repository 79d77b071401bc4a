import { runService, serveService } from "@taskmesh/core";
import { composeAuditLog } from "./compose.ts";
import { loadAuditLogConfig } from "./config.ts";

runService("audit-log", async () => {
  const config = loadAuditLogConfig();
  await serveService(composeAuditLog(config), config);
});
