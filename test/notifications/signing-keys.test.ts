/**
 * A service that verifies task-api's tokens waits for task-api's keys (issue 10): readiness is
 * 503 until they are loaded, it keeps retrying on its own with a short backoff (no restart, no
 * request needed), and while they are missing a request gets a 503 that says what to do and
 * names no internal host, port, app id or upstream status.
 */
import { createServer, type Server } from "node:http";
import { createBearerVerifier, jwksFromUrl, preloadJwks, requireBearer } from "@taskmesh/auth";
import { createLogger, freePort, healthRoutes, problemHandler } from "@taskmesh/core";
import express from "express";
import supertest from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi } from "../support/task-api.ts";

describe("signing keys at start", () => {
  let taskApi: TestTaskApi;
  let keysServer: Server | undefined;
  beforeAll(async () => {
    taskApi = await startTaskApi();
  });
  afterAll(async () => {
    keysServer?.close();
    await taskApi.close();
  });

  it("when the key owner is not up yet, then readiness is 503 and requests get a safe 503, and once it is up the service becomes ready by itself and serves requests", async () => {
    // A port nothing listens on yet: the key owner starts after this service.
    const port = await freePort();

    const jwks = preloadJwks(jwksFromUrl(`http://127.0.0.1:${port}/api/auth/jwks`, 500), {
      minDelayMs: 50,
      maxDelayMs: 200,
    });
    jwks.start();
    const verify = createBearerVerifier({ jwks, issuer: TEST_PUBLIC_URL, audience: "taskmesh" });
    const app = express();
    app.use(healthRoutes({ draining: false }, { signingKeys: () => jwks.check() }));
    app.get("/v1/me", requireBearer(verify), (_req, res) => {
      res.json({ userId: res.locals.userId });
    });
    app.use(problemHandler(createLogger({ service: "test", level: "silent" })));
    const request = supertest(app);
    const user = await taskApi.signUp();

    await request.get("/readyz").expect(503);
    const refused = await request.get("/v1/me").set(user.auth).expect(503);
    expect(refused.headers["retry-after"]).toBe("2");
    const detail = String((refused.body as { detail?: string }).detail);
    expect(detail).toMatch(/try again in a few seconds/);
    expect(detail).not.toMatch(/127\.0\.0\.1|localhost|task-api|jwks|HTTP \d|:\d{2,5}/i);
    expect(JSON.stringify(refused.body)).not.toContain(String(port));

    // The key owner comes up (here: task-api's real keys, served on that port).
    const keys = await taskApi.request.get("/api/auth/jwks").expect(200);
    keysServer = createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(keys.body));
    });
    await new Promise<void>((resolve) => keysServer?.listen(port, "127.0.0.1", resolve));

    const started = Date.now();
    while (!jwks.loaded) {
      if (Date.now() - started > 5000) throw new Error("the keys were not loaded within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await request.get("/readyz").expect(200);
    await request.get("/v1/me").set(user.auth).expect(200, { userId: user.id });

    // Once loaded, an outage of the key owner does not fail requests with known keys.
    await new Promise<void>((resolve) => {
      keysServer?.close(() => {
        resolve();
      });
    });
    keysServer = undefined;
    await request.get("/v1/me").set(user.auth).expect(200);
    await request.get("/readyz").expect(200);
    jwks.stop();
  });
});
