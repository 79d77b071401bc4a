/**
 * Token verification for the mcp-server through real sidecars with mTLS (Dapr Sentry) and the
 * access policies of dapr-components/configuration.yaml: @taskmesh/auth's createBearerVerifier,
 * run as mcp-server runs it (task-api's JWKS and POST /internal/tokens/introspect by service
 * invocation through the mcp-server sidecar), against the real task-api. Other apps' sidecars
 * cannot introspect. The mcp-server app itself is stood in by a bare HTTP server: only its
 * sidecar and its app id matter here (test/stack/mcp-auth.test.ts runs the real one).
 */
import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import {
  InvalidTokenError,
  createBearerVerifier,
  introspectionFromSidecar,
  jwksFromSidecar,
  type BearerVerifier,
} from "@taskmesh/auth";
import { createSidecarClient } from "@taskmesh/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBareApp } from "../support/servers.ts";
import { startStack, type AppName, type TestStack } from "../support/stack.ts";

const OTHERS: AppName[] = ["mcp-server", "notifications", "recurring-tasks"];

let stack: TestStack;
let api: string;
let mcpResource: string;
let verify: BearerVerifier;
const servers: Server[] = [];

beforeAll(async () => {
  const externalApps: Partial<Record<AppName, { port: number }>> = {};
  for (const app of OTHERS) {
    const bare = await startBareApp();
    servers.push(bare.server);
    externalApps[app] = { port: bare.port };
  }
  const mcpPort = externalApps["mcp-server"]?.port ?? 0;
  mcpResource = `http://127.0.0.1:${mcpPort}/mcp`;
  stack = await startStack({
    apps: ["task-api"],
    externalApps,
    env: { "task-api": { PROTECTED_RESOURCES: mcpResource } },
    tokens: "per-app",
    waitForConsumers: false,
  });
  api = stack.urls["task-api"] ?? "";
  const sidecar = createSidecarClient({
    baseUrl: stack.daprUrls["mcp-server"] ?? "",
    apiToken: stack.daprApiTokens["mcp-server"],
  });
  verify = createBearerVerifier({
    jwks: jwksFromSidecar(sidecar),
    // The stack gives task-api PUBLIC_URL http://localhost:<port>: the JWT issuer.
    issuer: `http://localhost:${new URL(api).port}`,
    audience: mcpResource,
    introspect: introspectionFromSidecar(sidecar),
  });
}, 240_000);

afterAll(async () => {
  await stack.stop();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function json(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const origin = `http://localhost:${new URL(api).port}`;
  const res = await fetch(`${api}${path}`, {
    ...init,
    headers: { "content-type": "application/json", origin, ...init.headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as unknown) : undefined,
    text,
  };
}

type User = Awaited<ReturnType<typeof signUpOnce>>;
let signedUp: Promise<User> | undefined;
/** One user for the file: Better Auth limits sign-ups per address. */
function signUp(): Promise<User> {
  signedUp ??= signUpOnce();
  return signedUp;
}

async function signUpOnce() {
  const res = await json("/api/auth/sign-up/email", {
    method: "POST",
    body: JSON.stringify({
      email: `pat-${randomUUID()}@example.com`,
      password: "correct-horse-battery",
      name: "Pat",
    }),
  });
  expect(res.status, res.text).toBe(200);
  const session = res.headers.get("set-auth-token") ?? "";
  const restToken = await json("/api/auth/token", { headers: { authorization: `Bearer ${session}` } });
  return {
    id: (res.body as { user: { id: string } }).user.id,
    session: { authorization: `Bearer ${session}` },
    restToken: (restToken.body as { token: string }).token,
  };
}

async function createPat(session: Record<string, string>, scope: "read" | "read-write") {
  const res = await json("/v1/tokens", {
    method: "POST",
    headers: session,
    body: JSON.stringify({ name: "mcp", scope }),
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; token: string };
}

describe("verifying bearer tokens as mcp-server does, through its sidecar", () => {
  it("when a personal access token is verified, then introspection through the sidecars names its user and scope; once revoked it is refused", async () => {
    const user = await signUp();
    const pat = await createPat(user.session, "read");

    expect(await verify(pat.token)).toMatchObject({
      userId: user.id,
      scope: "read",
      kind: "pat",
      tokenId: pat.id,
    });

    expect((await json(`/v1/tokens/${pat.id}`, { method: "DELETE", headers: user.session })).status).toBe(
      204,
    );
    await expect(verify(pat.token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("when a token for the MCP resource is verified, then the keys come through the sidecar and it is accepted; the REST API's own token is not", async () => {
    const user = await signUp();
    const res = await json(`/api/auth/token?resource=${encodeURIComponent(mcpResource)}`, {
      headers: user.session,
    });
    expect(res.status, res.text).toBe(200);

    expect(await verify((res.body as { token: string }).token)).toMatchObject({
      userId: user.id,
      scope: "read-write",
      kind: "jwt",
    });
    await expect(verify(user.restToken)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});

describe("who may introspect", () => {
  const introspectVia = async (caller: AppName, token: string, forgedCallerId?: string) => {
    const res = await fetch(
      `${stack.daprUrls[caller] ?? ""}/v1.0/invoke/task-api/method/internal/tokens/introspect`,
      {
        method: "POST",
        headers: {
          "dapr-api-token": stack.daprApiTokens[caller] ?? "",
          "content-type": "application/json",
          ...(forgedCallerId === undefined ? {} : { "dapr-caller-app-id": forgedCallerId }),
        },
        body: JSON.stringify({ token }),
      },
    );
    return { status: res.status, text: await res.text() };
  };

  it.each(["recurring-tasks"] as const)(
    "when %s's sidecar asks task-api to introspect a token, then task-api's sidecar denies it (403)",
    async (caller) => {
      const user = await signUp();
      const pat = await createPat(user.session, "read-write");

      // Claiming to be mcp-server changes nothing: the sidecars go by the mTLS identity.
      const res = await introspectVia(caller, pat.token, "mcp-server");
      expect(res.status, res.text).toBe(403);
      expect(res.text).toContain("access control policy has denied access");
    },
  );

  // notifications verifies the session tokens and personal access tokens its stream accepts.
  it.each(["mcp-server", "notifications"] as const)(
    "when %s's sidecar asks, then task-api answers",
    async (caller) => {
      const user = await signUp();
      const pat = await createPat(user.session, "read-write");

      const res = await introspectVia(caller, pat.token);
      expect(res.status, res.text).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ active: true, sub: user.id, scope: "read-write" });
    },
  );

  it("when a caller id header is added to mcp-server's call, then task-api no longer sees exactly mcp-server and refuses (fails closed)", async () => {
    const user = await signUp();
    const pat = await createPat(user.session, "read");

    const res = await introspectVia("mcp-server", pat.token, "mcp-server");
    expect(res.status, res.text).toBe(403);
    expect(res.text).toContain("This app may not introspect tokens");
  });

  it("when someone calls task-api's introspection directly (not through its sidecar), then 404 on the public port and 401 on the app port", async () => {
    const res = await json("/internal/tokens/introspect", {
      method: "POST",
      headers: { "dapr-caller-app-id": "mcp-server" },
      body: JSON.stringify({ token: "tmpat_x" }),
    });
    // The public listener does not have the route at all.
    expect(res.status).toBe(404);
    const direct = await fetch(`${stack.sidecarUrls["task-api"] ?? ""}/internal/tokens/introspect`, {
      method: "POST",
      headers: { "content-type": "application/json", "dapr-caller-app-id": "mcp-server" },
      body: JSON.stringify({ token: "tmpat_x" }),
    });
    expect(direct.status).toBe(401);
  });
});
