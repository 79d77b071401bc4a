/**
 * What the mcp-server relies on to verify its clients' bearer tokens without passing them on:
 * task-api's POST /internal/tokens/introspect (personal access tokens; only through task-api's
 * sidecar from mcp-server), resource-bound access tokens (GET /api/auth/token?resource=), and
 * @taskmesh/auth's createBearerVerifier / requireBearer against the real task-api. The same path
 * through real sidecars with mTLS is in tokens-sidecar.test.ts.
 */
import type { Server } from "node:http";
import {
  InvalidTokenError,
  createBearerVerifier,
  jwksFromUrl,
  requireBearer,
  requireScope,
  type Introspect,
} from "@taskmesh/auth";
import { createLogger, problemHandler, UnavailableError } from "@taskmesh/core";
import express from "express";
import supertest from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, TEST_PUBLIC_URL, type TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const APP_TOKEN = "task-api-app-token-for-tests";
const MCP_RESOURCE = "http://mcp.test/mcp";
/** What task-api's sidecar adds to a call that mcp-server made through the sidecars. */
const FROM_MCP_SERVER = { "dapr-api-token": APP_TOKEN, "dapr-caller-app-id": "mcp-server" };

const api = useTaskApi({
  trustedCallers: { appApiToken: APP_TOKEN, appIds: ["recurring-tasks", "mcp-server"] },
  protectedResources: [MCP_RESOURCE],
});
let base: string;
beforeAll(() => {
  const address = api.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  base = `http://127.0.0.1:${address.port}`;
});

async function pat(user: TestUser, scope: "read" | "read-write" = "read-write") {
  const res = await api.as(user).post("/v1/tokens", { name: "mcp", scope }).expect(201);
  return res.body as { id: string; token: string; expiresAt: string };
}

const introspect = (token: unknown, headers: Record<string, string> = FROM_MCP_SERVER) =>
  api.request.post("/internal/tokens/introspect").set(headers).send({ token });

/** Introspection as mcp-server would call it, straight to task-api with the sidecar's headers. */
const directIntrospect: Introspect = async (token) => {
  const res = await fetch(`${base}/internal/tokens/introspect`, {
    method: "POST",
    headers: { "content-type": "application/json", ...FROM_MCP_SERVER },
    body: JSON.stringify({ token }),
  });
  if (!res.ok) throw new UnavailableError(`introspection: HTTP ${res.status}`, 5);
  return (await res.json()) as Awaited<ReturnType<Introspect>>;
};

async function resourceToken(user: TestUser, query: Record<string, string> = { resource: MCP_RESOURCE }) {
  const res = await api.request
    .get("/api/auth/token")
    .query(query)
    .set("Authorization", `Bearer ${user.sessionToken}`);
  expect(res.status, res.text).toBe(200);
  return (res.body as { token: string }).token;
}

describe("POST /internal/tokens/introspect", () => {
  it("when mcp-server introspects a live token through task-api's sidecar, then it is active with its user, scope, expiry and id", async () => {
    const user = await api.signUp();
    const token = await pat(user, "read");

    const res = await introspect(token.token).expect(200);

    expect(res.body).toEqual({
      active: true,
      sub: user.id,
      scope: "read",
      exp: Math.floor(Date.parse(token.expiresAt) / 1000),
      tokenId: token.id,
      token_type: "personal_access_token",
    });
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("when the token is introspected, then it counts as a use", async () => {
    const user = await api.signUp();
    const token = await pat(user);

    await introspect(token.token).expect(200);

    const read = await api.as(user).get(`/v1/tokens/${token.id}`).expect(200);
    expect((read.body as { lastUsedAt: string | null }).lastUsedAt).not.toBeNull();
  });

  it("when the token is revoked, expired, unknown, malformed or a JWT, then only {active:false}", async () => {
    const user = await api.signUp();
    const revoked = await pat(user);
    await api.as(user).delete(`/v1/tokens/${revoked.id}`).expect(204);
    const expired = await pat(user);
    await api.pool.query(
      "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
      [expired.id],
    );

    for (const token of [
      revoked.token,
      expired.token,
      `tmpat_${"B".repeat(43)}`,
      "tmpat_x",
      "garbage",
      user.accessToken,
    ]) {
      const res = await introspect(token).expect(200);
      expect(res.body, token).toEqual({ active: false });
    }
  });

  it("when the body has no token, then 422", async () => {
    await introspect(undefined).expect(422);
    await api.request
      .post("/internal/tokens/introspect")
      .set(FROM_MCP_SERVER)
      .send({ token: "" })
      .expect(422);
  });

  it("when the app token is missing or wrong, then 401, whoever claims to call", async () => {
    const user = await api.signUp();
    const token = await pat(user);

    await introspect(token.token, { "dapr-caller-app-id": "mcp-server" }).expect(401);
    await introspect(token.token, { "dapr-api-token": "wrong", "dapr-caller-app-id": "mcp-server" }).expect(
      401,
    );
    // A user's own credentials do not open it either.
    await api.as(user).post("/internal/tokens/introspect", { token: token.token }).expect(401);
  });

  it("when another app, even a trusted caller of /v1, introspects through the sidecar, then 403", async () => {
    const user = await api.signUp();
    const token = await pat(user);

    const res = await introspect(token.token, {
      "dapr-api-token": APP_TOKEN,
      "dapr-caller-app-id": "recurring-tasks",
    });
    expect(res.status).toBe(403);
    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    await introspect(token.token, { "dapr-api-token": APP_TOKEN }).expect(403);
  });

  it("when task-api has no app token configured, then there is no introspection route", async () => {
    const plain = await startTaskApi();
    try {
      await plain.request
        .post("/internal/tokens/introspect")
        .set(FROM_MCP_SERVER)
        .send({ token: "x" })
        .expect(404);
    } finally {
      await plain.close();
    }
  });

  it("when mcp-server acts for the user it introspected (x-taskmesh-user-id), then task-api serves that user", async () => {
    const user = await api.signUp();
    const token = await pat(user);
    const { sub } = (await introspect(token.token).expect(200)).body as { sub: string };

    const me = await api.request
      .get("/v1/me")
      .set({ ...FROM_MCP_SERVER, "x-taskmesh-user-id": sub })
      .expect(200);
    expect((me.body as { id: string }).id).toBe(user.id);
  });
});

describe("rate limits for calls through the sidecar", () => {
  it("when mcp-server calls for users through the sidecar, then the per-IP limit (the sidecar's address) does not apply; the per-user one does", async () => {
    const limited = await startTaskApi({
      trustedCallers: { appApiToken: APP_TOKEN, appIds: ["mcp-server"] },
      rateLimit: { ipPerMinute: 2, userPerMinute: 3 },
    });
    try {
      // Sign-up and /token have used this address's two requests.
      const user = await limited.signUp();
      const plain = await limited.request.get("/v1/me").set(user.auth).expect(429);
      expect((plain.body as { detail: string }).detail).toMatch(/per ip/);

      const asMcp = { ...FROM_MCP_SERVER, "x-taskmesh-user-id": user.id };
      for (let i = 0; i < 3; i++) await limited.request.get("/v1/me").set(asMcp).expect(200);
      const perUser = await limited.request.get("/v1/me").set(asMcp).expect(429);
      expect((perUser.body as { detail: string }).detail).toMatch(/per user/);
    } finally {
      await limited.close();
    }
  });
});

describe("GET /api/auth/token?resource= (RFC 8707 resource-bound access tokens)", () => {
  it("when a signed-in user asks for a token for the MCP resource, then its aud is that resource, with scopes and 15 min", async () => {
    const user = await api.signUp();
    const res = await api.request
      .get("/api/auth/token")
      .query({ resource: MCP_RESOURCE })
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .expect(200);

    const body = res.body as { token: string; token_type: string; expires_in: number; resource: string };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 900, resource: MCP_RESOURCE });
    const claims = JSON.parse(Buffer.from(body.token.split(".")[1] ?? "", "base64url").toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      sub: user.id,
      aud: MCP_RESOURCE,
      iss: TEST_PUBLIC_URL,
      scope: "tasks:read tasks:write",
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("when a resource token is sent to the REST API, then 401: it is not for this audience", async () => {
    const user = await api.signUp();
    const token = await resourceToken(user);

    const res = await api.request.get("/v1/me").set("Authorization", `Bearer ${token}`).expect(401);
    expect(res.headers["www-authenticate"]).toMatch(/invalid_token/);
  });

  it("when the resource is not one this server issues tokens for, then 400 invalid_target", async () => {
    const user = await api.signUp();
    for (const resource of ["http://evil.test/mcp", "taskmesh", ""]) {
      const res = await api.request
        .get("/api/auth/token")
        .query({ resource })
        .set("Authorization", `Bearer ${user.sessionToken}`)
        .expect(400);
      expect((res.body as { error: string }).error, resource).toBe("invalid_target");
    }
  });

  it("when the scope is unknown, then 400 invalid_scope; tasks:read alone is a read token", async () => {
    const user = await api.signUp();
    const res = await api.request
      .get("/api/auth/token")
      .query({ resource: MCP_RESOURCE, scope: "tasks:admin" })
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .expect(400);
    expect((res.body as { error: string }).error).toBe("invalid_scope");

    const token = await resourceToken(user, { resource: MCP_RESOURCE, scope: "tasks:read" });
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
      scope: string;
    };
    expect(claims.scope).toBe("tasks:read");
  });

  it("when nobody is signed in (or only a JWT is sent), then 401", async () => {
    const user = await api.signUp();
    await api.request.get("/api/auth/token").query({ resource: MCP_RESOURCE }).expect(401);
    await api.request.get("/api/auth/token").query({ resource: MCP_RESOURCE }).set(user.auth).expect(401);
    await api.request
      .get("/api/auth/token")
      .query({ resource: MCP_RESOURCE })
      .set("Authorization", `Bearer ${await pat(user).then((t) => t.token)}`)
      .expect(401);
  });

  it("when no resource is named, then Better Auth's own token for the REST API comes back as before", async () => {
    const user = await api.signUp();
    const res = await api.request
      .get("/api/auth/token")
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .expect(200);
    await api.request
      .get("/v1/me")
      .set("Authorization", `Bearer ${(res.body as { token: string }).token}`)
      .expect(200);
  });
});

describe("createBearerVerifier (what mcp-server runs) against the real task-api", () => {
  const verifier = () =>
    createBearerVerifier({
      jwks: jwksFromUrl(`${base}/api/auth/jwks`),
      issuer: TEST_PUBLIC_URL,
      audience: MCP_RESOURCE,
      introspect: directIntrospect,
    });

  it("when a token for the MCP resource is verified, then it is the user's, read-write (or read for tasks:read)", async () => {
    const user = await api.signUp();
    const verify = verifier();

    expect(await verify(await resourceToken(user))).toMatchObject({
      userId: user.id,
      scope: "read-write",
      kind: "jwt",
    });
    expect(
      await verify(await resourceToken(user, { resource: MCP_RESOURCE, scope: "tasks:read" })),
    ).toMatchObject({
      userId: user.id,
      scope: "read",
      kind: "jwt",
    });
  });

  it("when a token for the REST API (aud taskmesh) is shown to the MCP verifier, then it is refused", async () => {
    const user = await api.signUp();

    await expect(verifier()(user.accessToken)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("when a personal access token is verified, then introspection says whose it is, its scope and id; revoked = refused", async () => {
    const user = await api.signUp();
    const token = await pat(user, "read");
    const verify = verifier();

    expect(await verify(token.token)).toEqual({
      userId: user.id,
      scope: "read",
      kind: "pat",
      tokenId: token.id,
      expiresAt: new Date(Math.floor(Date.parse(token.expiresAt) / 1000) * 1000),
    });
    await api.as(user).delete(`/v1/tokens/${token.id}`).expect(204);
    await expect(verify(token.token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("when the verifier has no introspection, then personal access tokens are refused", async () => {
    const user = await api.signUp();
    const token = await pat(user);

    await expect(
      createBearerVerifier({
        jwks: jwksFromUrl(`${base}/api/auth/jwks`),
        issuer: TEST_PUBLIC_URL,
        audience: MCP_RESOURCE,
      })(token.token),
    ).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("when a session token, a tampered JWT or garbage is shown, then it is refused", async () => {
    const user = await api.signUp();
    const verify = verifier();
    const good = await resourceToken(user);

    for (const token of [user.sessionToken, `${good.slice(0, -4)}AAAA`, "garbage", ""]) {
      await expect(verify(token), token).rejects.toBeInstanceOf(InvalidTokenError);
    }
  });

  it("when task-api cannot be reached for keys or introspection, then UnavailableError (not a refusal)", async () => {
    const user = await api.signUp();
    const token = await pat(user);
    const down = createBearerVerifier({
      jwks: jwksFromUrl("http://127.0.0.1:9/api/auth/jwks", 500),
      issuer: TEST_PUBLIC_URL,
      audience: MCP_RESOURCE,
      introspect: () => Promise.reject(new UnavailableError("sidecar down", 5)),
    });

    await expect(down(await resourceToken(user))).rejects.toBeInstanceOf(UnavailableError);
    await expect(down(token.token)).rejects.toBeInstanceOf(UnavailableError);
  });

  it("when a cache is configured, then an active token is introspected once within it (and never past its expiry)", async () => {
    const user = await api.signUp();
    const token = await pat(user);
    let calls = 0;
    let clock = Date.now();
    const verify = createBearerVerifier({
      jwks: jwksFromUrl(`${base}/api/auth/jwks`),
      issuer: TEST_PUBLIC_URL,
      audience: MCP_RESOURCE,
      introspect: async (t) => {
        calls++;
        return directIntrospect(t);
      },
      introspectionCacheMs: 10_000,
      now: () => clock,
    });

    await verify(token.token);
    await verify(token.token);
    expect(calls).toBe(1);
    clock += 10_001;
    await verify(token.token);
    expect(calls).toBe(2);
  });
});

describe("requireBearer (the resource server's middleware)", () => {
  let resource: Server;
  let request: ReturnType<typeof supertest>;
  const metadata = "http://mcp.test/.well-known/oauth-protected-resource";
  beforeAll(async () => {
    const verify = createBearerVerifier({
      jwks: jwksFromUrl(`${base}/api/auth/jwks`),
      issuer: TEST_PUBLIC_URL,
      audience: MCP_RESOURCE,
      introspect: directIntrospect,
    });
    const app = express();
    const options = { resourceMetadataUrl: metadata, scope: "tasks:read tasks:write" };
    app.use(requireBearer(verify, options));
    app.get("/whoami", (_req, res) => {
      res.json(res.locals.bearer);
    });
    app.post("/write", (_req, res) => {
      requireScope(res, "read-write", options);
      res.status(204).end();
    });
    app.use(problemHandler(createLogger({ service: "test", level: "silent" })));
    resource = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => {
        resolve(s);
      });
    });
    request = supertest(resource);
  });
  afterAll(async () => {
    await new Promise((resolve) => resource.close(resolve));
  });

  it("when no token is sent, then 401 with a challenge naming the resource metadata and scopes", async () => {
    const res = await request.get("/whoami").expect(401);
    expect(res.headers["www-authenticate"]).toBe(
      `Bearer realm="taskmesh", resource_metadata="${metadata}", scope="tasks:read tasks:write"`,
    );
  });

  it("when a REST API token is sent, then 401 invalid_token", async () => {
    const user = await api.signUp();
    const res = await request.get("/whoami").set(user.auth).expect(401);
    expect(res.headers["www-authenticate"]).toMatch(
      /resource_metadata=".*", scope=".*", error="invalid_token"/,
    );
  });

  it("when an MCP token or a personal access token is sent, then the route sees the identity", async () => {
    const user = await api.signUp();
    const viaJwt = await request
      .get("/whoami")
      .set("Authorization", `Bearer ${await resourceToken(user)}`)
      .expect(200);
    expect(viaJwt.body).toMatchObject({ userId: user.id, kind: "jwt", scope: "read-write" });
    const token = await pat(user, "read");
    const viaPat = await request.get("/whoami").set("Authorization", `bearer ${token.token}`).expect(200);
    expect(viaPat.body).toMatchObject({ userId: user.id, kind: "pat", scope: "read", tokenId: token.id });
  });

  it("when a read token calls a write, then 403 with insufficient_scope; a read-write token may", async () => {
    const user = await api.signUp();
    const read = await pat(user, "read");
    const res = await request.post("/write").set("Authorization", `Bearer ${read.token}`).expect(403);
    expect(res.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    await request
      .post("/write")
      .set("Authorization", `Bearer ${(await pat(user)).token}`)
      .expect(204);
  });
});
