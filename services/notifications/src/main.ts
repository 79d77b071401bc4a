import { PrismaPg } from "@prisma/adapter-pg";
import { createAccessTokenVerifier, jwksFromSidecar } from "@taskmesh/auth";
import { createLogger, serve, type Lifecycle } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import { PrismaClient } from "@taskmesh/db";
import pg from "pg";
import { createApp } from "./app.ts";
import { loadNotificationsConfig } from "./config.ts";

async function main(): Promise<void> {
  const config = loadNotificationsConfig();
  const logger = createLogger({ service: "notifications", level: config.LOG_LEVEL });

  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX });
  // An idle connection closed by the server is dropped and replaced on next use.
  pool.on("error", (err) => {
    logger.warn({ err }, "idle database connection lost");
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sidecar = createSidecarClient({
    baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
    apiToken: config.DAPR_API_TOKEN,
  });
  const verifyAccessToken = createAccessTokenVerifier({
    loadJwks: jwksFromSidecar(sidecar, { appId: config.AUTH_JWKS_APP_ID }),
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });

  const lifecycle: Lifecycle = { draining: false };
  const app = createApp({
    logger,
    lifecycle,
    prisma,
    pool,
    sidecar,
    verifyAccessToken,
    appApiToken: config.APP_API_TOKEN,
  });

  const running = await serve(app, {
    port: config.PORT,
    host: config.HOST,
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    onClose: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  });
  logger.info({ url: `http://localhost:${running.port}` }, "notifications ready");
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so this is the one place that writes to stderr directly.
  process.stderr.write(
    `notifications failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
