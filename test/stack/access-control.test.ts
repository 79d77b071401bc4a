/**
 * Service-invocation access control (dapr-components/configuration.yaml accessControl) in real
 * sidecars with real mTLS: Dapr Sentry issues each sidecar its SPIFFE identity, and the called
 * app's sidecar allows or denies each call by the caller's identity, path and verb.
 *
 * Every app here is a small echo server in this test process with a real daprd per app id,
 * so the test is about the sidecars and the policy, not about any service's code: a denied
 * call never reaches the callee, an allowed one does and shows what the callee receives.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { freePort } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type AppName, type TestStack } from "../support/stack.ts";

const APPS: AppName[] = ["task-api", "mcp-server", "notifications", "audit-log", "recurring-tasks"];

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

let stack: TestStack;
const servers: Server[] = [];
/** What each app's echo server received, other than its sidecar's own probes. */
const received = new Map<AppName, Received[]>();

async function echoApp(app: AppName): Promise<number> {
  const port = await freePort();
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/healthz" || url.startsWith("/dapr/")) {
      res.writeHead(url === "/dapr/subscribe" ? 200 : url === "/healthz" ? 200 : 404, {
        "content-type": "application/json",
      });
      res.end(url === "/dapr/subscribe" ? "[]" : "{}");
      return;
    }
    received.get(app)?.push({ method: req.method ?? "", url, headers: req.headers });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ app, method: req.method, url, headers: req.headers, distinct: req.headersDistinct }),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  servers.push(server);
  received.set(app, []);
  return port;
}

beforeAll(async () => {
  const externalApps: Partial<Record<AppName, { port: number }>> = {};
  for (const app of APPS) externalApps[app] = { port: await echoApp(app) };
  stack = await startStack({ apps: [], externalApps, tokens: "per-app", waitForConsumers: false });
}, 180_000);

afterAll(async () => {
  await stack.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Invokes `callee` through `caller`'s own sidecar, as the services do. */
async function invoke(
  caller: AppName,
  callee: AppName,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; json: unknown }> {
  const res = await fetch(`${stack.daprUrls[caller] ?? ""}/v1.0/invoke/${callee}/method${path}`, {
    method,
    headers: { "dapr-api-token": stack.daprApiTokens[caller] ?? "", ...headers },
  });
  const body = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: res.status, body, json };
}

const ALLOWED: [AppName, AppName, string, string][] = [
  ["mcp-server", "task-api", "GET", "/v1/tasks"],
  ["mcp-server", "task-api", "POST", "/v1/tasks"],
  ["recurring-tasks", "task-api", "POST", "/v1/tasks"],
  ["recurring-tasks", "task-api", "GET", "/v1/tasks/abc"],
  ["task-api", "audit-log", "GET", "/internal/tasks/abc/history?userId=u1"],
  ["notifications", "task-api", "GET", "/api/auth/jwks"],
];

const DENIED: [AppName, AppName, string, string, string][] = [
  ["notifications", "task-api", "GET", "/v1/tasks", "notifications may only read the JWKS"],
  ["notifications", "task-api", "POST", "/api/auth/jwks", "the JWKS rule is GET only"],
  ["audit-log", "task-api", "GET", "/v1/tasks", "audit-log has no policy"],
  ["audit-log", "task-api", "GET", "/api/auth/jwks", "audit-log has no policy"],
  ["recurring-tasks", "audit-log", "GET", "/internal/tasks/abc/history", "only task-api reads history"],
  ["mcp-server", "audit-log", "GET", "/internal/tasks/abc/history", "only task-api reads history"],
  ["task-api", "audit-log", "GET", "/v1/tasks", "task-api may only call /internal/**"],
  ["task-api", "recurring-tasks", "POST", "/events/task-events", "no app may call another's event routes"],
  ["mcp-server", "task-api", "GET", "/api/auth/session", "outside /v1/**"],
  ["recurring-tasks", "task-api", "GET", "/v1beta/tasks", "outside /v1/**"],
];

describe("service invocation through mTLS sidecars", () => {
  it.each(ALLOWED)(
    "when %s calls %s %s %s, then the callee receives it",
    async (caller, callee, method, path) => {
      const before = received.get(callee)?.length ?? 0;
      const res = await invoke(caller, callee, method, path);
      expect(res.status, res.body).toBe(200);
      expect(res.json).toMatchObject({ app: callee, method, url: path });
      expect(received.get(callee)?.length).toBe(before + 1);
    },
  );

  it.each(DENIED)(
    "when %s calls %s %s %s, then the callee's sidecar answers 403 (%s)",
    async (caller, callee, method, path) => {
      const before = received.get(callee)?.length ?? 0;
      const res = await invoke(caller, callee, method, path);
      expect(res.status, res.body).toBe(403);
      expect(res.body).toContain("access control policy has denied access");
      expect(res.body).toContain(`spiffe://public/ns/default/${caller}`);
      expect(received.get(callee)?.length).toBe(before);
    },
  );

  it("when an app calls another, then the callee gets the caller's app id, its own app token, and a traceparent", async () => {
    const res = await invoke("task-api", "audit-log", "GET", "/internal/tasks/t1/history?userId=u1");
    expect(res.status).toBe(200);
    const headers = (res.json as { headers: Record<string, string> }).headers;
    expect(headers["dapr-caller-app-id"]).toBe("task-api");
    expect(headers["dapr-callee-app-id"]).toBe("audit-log");
    expect(headers["dapr-caller-namespace"]).toBe("default");
    // The callee's own APP_API_TOKEN (per app), never the caller's tokens.
    expect(headers["dapr-api-token"]).toBe(stack.appApiTokens["audit-log"]);
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it("when a caller sends its own dapr-caller-app-id, then the callee gets two values in no fixed order", async () => {
    // daprd 1.18 sets the caller's real id but also passes on the caller's own header, and the
    // order of the two values varies from call to call (seen both ways). So a callee must
    // accept only a single value (task-api's trusted-caller check compares the whole header:
    // "recurring-tasks, mcp-server" matches no app id) and never pick the first or the last.
    const res = await invoke("recurring-tasks", "task-api", "POST", "/v1/tasks", {
      "dapr-caller-app-id": "mcp-server",
      "dapr-caller-namespace": "other",
      "dapr-callee-app-id": "someone-else",
    });
    expect(res.status).toBe(200);
    const { headers, distinct } = res.json as {
      headers: Record<string, string>;
      distinct: Record<string, string[]>;
    };
    expect([...(distinct["dapr-caller-app-id"] ?? [])].sort()).toEqual(["mcp-server", "recurring-tasks"]);
    expect([...(distinct["dapr-caller-namespace"] ?? [])].sort()).toEqual(["default", "other"]);
    expect([...(distinct["dapr-callee-app-id"] ?? [])].sort()).toEqual(["someone-else", "task-api"]);
    expect(headers["dapr-caller-app-id"]).toMatch(
      /^(recurring-tasks, mcp-server|mcp-server, recurring-tasks)$/,
    );
  });

  it("when a forged caller id is used to get past the policy, then the identity from the certificate decides", async () => {
    // audit-log has no policy; claiming to be mcp-server in the header changes nothing.
    const res = await invoke("audit-log", "task-api", "GET", "/v1/tasks", {
      "dapr-caller-app-id": "mcp-server",
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain("spiffe://public/ns/default/audit-log");
  });

  it("when an app uses another app's sidecar, then its own token is refused there", async () => {
    // Per-app DAPR_API_TOKENs: audit-log cannot borrow recurring-tasks' sidecar (and identity).
    const res = await fetch(
      `${stack.daprUrls["recurring-tasks"] ?? ""}/v1.0/invoke/task-api/method/v1/tasks`,
      {
        headers: { "dapr-api-token": stack.daprApiTokens["audit-log"] ?? "" },
      },
    );
    expect(res.status).toBe(401);
  });
});
