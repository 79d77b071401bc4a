import { createLogger, serve, type Lifecycle } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import { createApp } from "./app.ts";
import { loadRecurringTasksConfig } from "./config.ts";

async function main(): Promise<void> {
  const config = loadRecurringTasksConfig();
  const logger = createLogger({ service: "recurring-tasks", level: config.LOG_LEVEL });
  const sidecar = createSidecarClient({
    baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
    apiToken: config.DAPR_API_TOKEN,
  });

  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({
    logger,
    sidecar,
    lifecycle,
    appApiToken: config.APP_API_TOKEN,
    taskApiAppId: config.TASK_API_APP_ID,
    stateStore: config.STATE_STORE,
    processedEventTtlSeconds: config.PROCESSED_EVENT_TTL_SECONDS,
  });

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    sidecar: { port: config.APP_PORT, host: "127.0.0.1" },
    operations: { port: config.OPS_PORT, host: config.HOST },
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    // Nothing to close: every call goes to the sidecar over plain fetch.
    onClose: () => Promise.resolve(),
  });
  logger.info({ url: `http://localhost:${running.port}`, ports: running.ports }, "recurring-tasks ready");
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `recurring-tasks failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
