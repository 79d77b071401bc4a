import { loadConfig, serviceConfigFields } from "@taskmesh/core";
import { z } from "zod";

// No DATABASE_URL: recurring-tasks has no tables. Its only state (ids of events it handled)
// is in its sidecar's state store, and the occurrence itself is task-api's.
const schema = z.object({
  // The sidecar: state store and service invocation of task-api.
  ...serviceConfigFields(3004, { sidecar: true, appToken: true }),
  /** The app id of task-api, where next occurrences are created. */
  TASK_API_APP_ID: z.string().min(1).default("task-api"),
  /** The Dapr state store component of this app (dapr-components/statestore.yaml). */
  STATE_STORE: z.string().min(1).default("recurring-tasks-state"),
  /** How long handled event ids are remembered (the fast path for redeliveries). */
  PROCESSED_EVENT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * 24 * 3600),
});

export type RecurringTasksConfig = z.infer<typeof schema>;

export function loadRecurringTasksConfig(
  source: Record<string, string | undefined> = process.env,
): RecurringTasksConfig {
  return loadConfig(schema, source);
}
