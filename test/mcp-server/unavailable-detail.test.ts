/**
 * What a user or a model reads when a call through the sidecar fails (issue 10: "503 problem
 * details say what to do, never internal hosts or upstream error text"): mcp-server's tool
 * results, and a 503 from @taskmesh/dapr's sidecar client, name no host, port, app id, daprd
 * error code or upstream text; those reach the log. The sidecar is the real client
 * (createSidecarClient) against a real HTTP server playing daprd.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { createLogger, problemHandler, requestContext } from "@taskmesh/core";
import { createSidecarClient } from "@taskmesh/dapr";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sidecarTransport } from "../../services/mcp-server/src/data/task-api.client.ts";
import { failed, startMcpHarness, type McpHarness } from "./harness.ts";

/** What daprd says when the target app is down: internal addresses and ids, never for users. */
const DAPRD_ERROR = JSON.stringify({
  errorCode: "ERR_DIRECT_INVOKE",
  message: "fail to invoke, id: task-api, err: dial tcp 10.244.1.17:50002: connect: connection refused",
});
const LEAKS =
  /10\.244|50002|ERR_DIRECT_INVOKE|connection refused|HTTP 5\d\d|task-api|127\.0\.0\.1|sidecar|dapr|<html/i;

type Mode = "daprd-error" | "not-json";

async function fakeDaprd(mode: () => Mode): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    if (mode() === "daprd-error") {
      res.writeHead(500, { "content-type": "application/json" }).end(DAPRD_ERROR);
    } else {
      // A proxy's error page where JSON was expected: a JSON parse error would quote it.
      res.writeHead(200, { "content-type": "text/html" }).end("<html>bad gateway at 10.244.1.17</html>");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("sidecar and upstream failures: what the public reads", () => {
  let h: McpHarness;
  let daprd: { server: Server; url: string };
  let mode: Mode = "daprd-error";
  let deadPort = 0;
  let target: "fake" | "dead" = "fake";
  const logged: string[] = [];

  beforeAll(async () => {
    daprd = await fakeDaprd(() => mode);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => {
      probe.close(() => {
        resolve();
      });
    });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    h = await startMcpHarness({
      logger: createLogger({ service: "mcp-server", level: "warn", destination: sink }),
      // Tokens are checked as usual; task-api calls go through the real sidecar client.
      taskApiFor: (userId, scope) =>
        sidecarTransport(
          createSidecarClient({
            baseUrl: target === "fake" ? daprd.url : `http://127.0.0.1:${deadPort}`,
            timeoutMs: 2000,
          }),
          "task-api",
          userId,
          scope,
        ),
    });
  });
  afterAll(async () => {
    daprd.server.close();
    await h.close();
  });

  it("when daprd answers 500 with its error text, then the tool result says to try again and names nothing internal, and the log has the cause", async () => {
    const user = await h.signUp();
    const client = await h.client((await h.personalAccessToken(user, "read")).token);
    mode = "daprd-error";
    target = "fake";
    const text = await failed(client, "list_tasks", {});
    expect(text).toMatch(/^Error \(unavailable\)/);
    expect(text).toMatch(/try again in a few seconds/);
    expect(text).not.toMatch(LEAKS);
    expect(logged.join("")).toContain("ERR_DIRECT_INVOKE");
  });

  it("when the sidecar cannot be reached, then the tool result says to try again and names no address", async () => {
    const user = await h.signUp();
    const client = await h.client((await h.personalAccessToken(user, "read")).token);
    target = "dead";
    try {
      const text = await failed(client, "get_task", { id: "00000000-0000-4000-8000-000000000000" });
      expect(text).toMatch(/try again in a few seconds/);
      expect(text).not.toMatch(LEAKS);
      expect(text).not.toContain(String(deadPort));
    } finally {
      target = "fake";
    }
  });

  it("when an upstream answers something that is not JSON, then the tool result is a generic error that quotes none of it", async () => {
    const user = await h.signUp();
    const client = await h.client((await h.personalAccessToken(user, "read")).token);
    mode = "not-json";
    try {
      const text = await failed(client, "list_tasks", {});
      expect(text).toMatch(/^Error \(internal\)/);
      expect(text).not.toMatch(LEAKS);
    } finally {
      mode = "daprd-error";
    }
  });

  it("when a sidecar call in a request fails with daprd's error text, then the 503 says to try again with Retry-After and the text is only in the log", async () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: "test",
      level: "error",
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const sidecar = createSidecarClient({ baseUrl: daprd.url });
    const app = express();
    app.use(requestContext(logger));
    app.post("/v1/things", async (_req, res) => {
      await sidecar.saveState("statestore", [{ key: "k", value: 1 }]);
      res.status(204).end();
    });
    app.use(problemHandler(logger));
    const server = app.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => {
      server.once("listening", () => {
        resolve();
      });
    });
    try {
      const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/things`, {
        method: "POST",
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get("retry-after")).toBe("1");
      const body = await answer.text();
      expect((JSON.parse(body) as { detail: string }).detail).toMatch(/try again in a few seconds/);
      expect(body).not.toMatch(LEAKS);
      expect(lines.join("")).toContain("ERR_DIRECT_INVOKE");
    } finally {
      server.close();
    }
  });
});
