/**
 * serve()'s graceful shutdown against a real keep-alive client, the way daprd's app channel
 * and health checks hold connections to the app.
 */
import http from "node:http";
import { createLogger, serve, type RunningServer } from "@taskmesh/core";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";

const running: RunningServer[] = [];
afterEach(() => {
  for (const r of running.splice(0)) r.server.closeAllConnections();
});

async function slowServer(delayMs: number): Promise<RunningServer> {
  const app = express();
  app.get("/slow", (_req, res) => {
    setTimeout(() => res.send("done"), delayMs);
  });
  const r = await serve(app, {
    port: 0,
    host: "127.0.0.1",
    logger: createLogger({ service: "lifecycle-test", level: "silent" }),
    lifecycle: { draining: false },
    onClose: () => Promise.resolve(),
    // Far beyond the test's own timeout: a hang fails the test, and never exits the worker.
    shutdownTimeoutMs: 600_000,
  });
  running.push(r);
  return r;
}

function get(port: number, agent: http.Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/slow", agent }, (res) => {
        res.resume();
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
        });
      })
      .on("error", reject);
  });
}

describe("serve() shutdown", () => {
  it("when a keep-alive connection is mid-request as the drain starts, then the request completes and the server still closes at once", async () => {
    const r = await slowServer(300);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await get(r.port, agent); // the connection the next request reuses
    const inFlight = get(r.port, agent);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await r.shutdown("test");
    const tookMs = performance.now() - started;

    expect(await inFlight).toMatchObject({ status: 200 });
    // The response takes ~250 ms more; before the sweep the close waited for the client to
    // stop reusing the connection (here: forever; with daprd: the 10 s shutdown timeout).
    expect(tookMs).toBeLessThan(3_000);
    expect(r.server.listening).toBe(false);
    agent.destroy();
  }, 10_000);
});
