/**
 * mcp-server verifies OAuth JWTs with task-api's keys and so waits for them (issue 10): /readyz
 * is 503 until they are loaded, it keeps retrying on its own (no restart, no request needed),
 * and while they are missing a call with a JWT gets a 503 that says what to do and names no
 * internal host, port, app id or upstream status. Real HTTP throughout: the MCP endpoint, and
 * task-api's keys reached over a port that only starts answering later.
 */
import { createServer, type Server } from "node:http";
import { jwksFromSidecar, preloadJwks } from "@taskmesh/auth";
import { freePort } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMcpHarness, taskApiSidecar, type McpHarness } from "./harness.ts";

/** task-api "coming up" on `port`: every request forwarded to the real task-api at `apiUrl`. */
async function forwarder(port: number, apiUrl: string): Promise<Server> {
  const server = createServer((req, res) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === "string" && name !== "host") headers[name] = value;
    fetch(`${apiUrl}${req.url ?? "/"}`, { method: req.method ?? "GET", headers })
      .then(async (answer) => {
        res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
        res.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => {
        res.writeHead(502).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

const toolsList = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} };

describe("mcp-server: task-api's signing keys at start", () => {
  let h: McpHarness;
  let keysPort: number;
  let jwks: ReturnType<typeof preloadJwks>;
  let keysServer: Server | undefined;

  beforeAll(async () => {
    keysPort = await freePort(); // nothing listens on it (yet)
    h = await startMcpHarness(() => {
      // The keys come through a "sidecar" whose task-api is not up yet; PATs through the real one.
      jwks = preloadJwks(jwksFromSidecar(taskApiSidecar(`http://127.0.0.1:${keysPort}`)), {
        minDelayMs: 50,
        maxDelayMs: 200,
      });
      jwks.start();
      return { jwks };
    });
  });
  afterAll(async () => {
    jwks.stop();
    keysServer?.close();
    await h.close();
  });

  it("when task-api's keys are not reachable yet, then /readyz and JWT calls are a safe 503, and once they are the server becomes ready by itself and serves tools/list", async () => {
    const user = await h.signUp();
    const jwt = await h.resourceToken(user);

    const notReady = await fetch(`${h.baseUrl}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("retry-after")).toBe("2");
    const notReadyBody = await notReady.text();
    expect(notReadyBody).toContain("signingKeys");
    expect(notReadyBody).toMatch(/try again in a few seconds/);
    expect(notReadyBody).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|HTTP \d/);

    const refused = await fetch(h.mcpUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${jwt}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify(toolsList),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    const body = await refused.text();
    const detail = String((JSON.parse(body) as { detail?: unknown }).detail);
    expect(detail).toMatch(/try again in a few seconds/);
    expect(body).not.toMatch(/127\.0\.0\.1|localhost|task-api|jwks|HTTP \d|ECONNREFUSED/i);
    expect(body).not.toContain(String(keysPort));

    // A personal access token needs no keys: it is served meanwhile.
    const pat = await h.personalAccessToken(user, "read");
    expect((await (await h.client(pat.token)).listTools()).tools.length).toBeGreaterThan(0);

    // task-api comes up; nothing calls mcp-server but the probe.
    keysServer = await forwarder(keysPort, h.apiUrl);
    const started = Date.now();
    for (;;) {
      if ((await fetch(`${h.baseUrl}/readyz`)).status === 200) break;
      if (Date.now() - started > 5000) throw new Error("not ready within 5 s of task-api coming up");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const tools = await (await h.client(jwt)).listTools();
    expect(tools.tools.map((t) => t.name)).toContain("list_tasks");

    // Once loaded, task-api going away again does not fail calls with known keys.
    await new Promise<void>((resolve) => {
      keysServer?.close(() => {
        resolve();
      });
      keysServer?.closeAllConnections();
    });
    keysServer = undefined;
    expect((await (await h.client(jwt)).listTools()).tools.length).toBeGreaterThan(0);
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(200);
  });
});
