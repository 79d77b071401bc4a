/**
 * serve()'s graceful shutdown against a real keep-alive client, the way daprd's app channel
 * and health checks hold connections to the app.
 */
import http from "node:http";
import { createLogger, listenerOf, notFoundHandler, onlyOn, serve, type RunningServer } from "@taskmesh/core";
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

describe("serve() listeners", () => {
  it("when serve() opens public, sidecar and operations listeners, then each request knows its listener, the sidecar one is on 127.0.0.1 only, and shutdown drains and closes all three", async () => {
    const app = express();
    app.get("/which", (req, res) => {
      setTimeout(() => res.json({ listener: listenerOf(req) }), Number(req.query.delay ?? 0));
    });
    app.get("/sidecar-only", onlyOn("sidecar"), (_req, res) => res.send("sidecar"));
    app.use(notFoundHandler);
    const r = await serve(app, {
      port: 0,
      host: "127.0.0.1",
      sidecar: { port: 0 },
      operations: { port: 0, host: "127.0.0.1" },
      logger: createLogger({ service: "lifecycle-test", level: "silent" }),
      lifecycle: { draining: false },
      onClose: () => Promise.resolve(),
      shutdownTimeoutMs: 600_000,
    });
    running.push(r);
    const { public: pub = 0, sidecar = 0, operations = 0 } = r.ports;
    expect(new Set([pub, sidecar, operations]).size).toBe(3);
    expect(r.servers.sidecar?.address()).toMatchObject({ address: "127.0.0.1" });

    const which = async (port: number): Promise<unknown> =>
      ((await (await fetch(`http://127.0.0.1:${port}/which`)).json()) as { listener: string }).listener;
    expect(await which(pub)).toBe("public");
    expect(await which(sidecar)).toBe("sidecar");
    expect(await which(operations)).toBe("operations");
    // Elsewhere a sidecar-only route is answered like an unknown route.
    expect((await fetch(`http://127.0.0.1:${pub}/sidecar-only`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${operations}/sidecar-only`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${sidecar}/sidecar-only`)).status).toBe(200);

    // A keep-alive request in flight on the sidecar listener completes; then everything closes.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const inFlight = new Promise<number>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: sidecar, path: "/which?delay=300", agent }, (res) => {
          res.resume();
          res.on("end", () => {
            resolve(res.statusCode ?? 0);
          });
        })
        .on("error", reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await r.shutdown("test");
    expect(await inFlight).toBe(200);
    expect(performance.now() - started).toBeLessThan(3_000);
    for (const s of Object.values(r.servers)) expect(s.listening).toBe(false);
    agent.destroy();
  }, 10_000);

  it("when a request reaches the app through a bare server (app.listen), then it counts as public", async () => {
    const app = express();
    app.get("/which", (req, res) => {
      res.json({ listener: listenerOf(req) });
    });
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => {
        resolve(s);
      });
    });
    const port = (server.address() as { port: number }).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/which`)).json()).toEqual({ listener: "public" });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("when one of the ports is taken, then serve() fails and releases the ports it had opened", async () => {
    const blocker = http.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    const app = express();
    await expect(
      serve(app, {
        port: 0,
        host: "127.0.0.1",
        sidecar: { port: taken },
        logger: createLogger({ service: "lifecycle-test", level: "silent" }),
        lifecycle: { draining: false },
        onClose: () => Promise.resolve(),
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    await new Promise((resolve) => blocker.close(resolve));
  });
});
