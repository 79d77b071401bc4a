import { loadConfig, serviceConfigFields } from "@taskmesh/core";
import { z } from "zod";

// No sidecar fields: audit-log never calls its sidecar, the sidecar only calls it.
const schema = z.object({
  ...serviceConfigFields(3003, { database: true, appToken: true }),
});

export type AuditLogConfig = z.infer<typeof schema>;

export function loadAuditLogConfig(source: Record<string, string | undefined> = process.env): AuditLogConfig {
  return loadConfig(schema, source);
}
