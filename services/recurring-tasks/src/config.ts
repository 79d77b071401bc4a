import { env, loadConfig } from "@taskmesh/core";
import { z } from "zod";

// No DATABASE_URL: recurring-tasks has no tables. Its only state (ids of events it handled)
// is in its sidecar's state store, and the occurrence itself is task-api's.
const schema = z.object({
  PORT: env.port(3004),
  /**
   * The Dapr app port (daprd --app-port, dapr.io/app-port), always on 127.0.0.1: only this
   * pod's sidecar reaches it. Event deliveries, cron ticks, /internal/*, and service
   * invocation with the trusted-caller identity are served here and nowhere else.
   */
  APP_PORT: env.port(3104),
  /** /healthz, /readyz and /metrics for probes and Prometheus (on HOST; not in the Service or Ingress). */
  OPS_PORT: env.port(3204),
  HOST: z.string().default("0.0.0.0"),
  LOG_LEVEL: env.logLevel(),
  /** daprd's HTTP API on 127.0.0.1: state store and service invocation of task-api. */
  DAPR_HTTP_PORT: env.port(3500),
  /** Sent to daprd as dapr-api-token when the sidecar was started with one. */
  DAPR_API_TOKEN: z.string().min(1).optional(),
  /** What daprd sends as dapr-api-token; /events/* requires it. */
  APP_API_TOKEN: z.string().min(1),
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
  SHUTDOWN_DRAIN_DELAY_MS: env.int(0),
});

export type RecurringTasksConfig = z.infer<typeof schema>;

export function loadRecurringTasksConfig(
  source: Record<string, string | undefined> = process.env,
): RecurringTasksConfig {
  return loadConfig(schema, source);
}
