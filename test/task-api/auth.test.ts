import type { AddressInfo } from "node:net";
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from "jose";
import type { Response, Test } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessTokenVerifier } from "@taskmesh/auth";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi } from "../support/task-api.ts";
import { expectProblem, useTaskApi } from "../support/task-api-fixtures.ts";

const PASSWORD = "correct-horse-battery";
const REALM = 'Bearer realm="taskmesh"';

const api = useTaskApi();

function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

function expectUnauthenticated(res: Response, invalidToken: boolean): void {
  expectProblem(res, 401, "unauthenticated");
  const challenge = res.headers["www-authenticate"];
  expect(challenge).toMatch(/^Bearer realm="taskmesh"/);
  if (invalidToken) expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).toBe(REALM);
}

function signIn(email: string, password = PASSWORD): Test {
  return api.request.post("/api/auth/sign-in/email").send({ email, password });
}

describe("sign-up and sign-in", () => {
  it("when a user signs up with email and password, then the session token in set-auth-token authenticates /v1", async () => {
    const email = `sign-up-${crypto.randomUUID()}@example.com`;
    const res = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email, password: PASSWORD, name: "Ada" })
      .expect(200);

    const token = res.headers["set-auth-token"];
    expect(typeof token).toBe("string");
    expect(res.body).toMatchObject({ user: { email, name: "Ada" } });
    const me = await api.request
      .get("/v1/me")
      .set(bearer(String(token)))
      .expect(200);
    expect(me.body).toMatchObject({ email, name: "Ada", timeZone: "UTC" });
  });

  it("when the same email signs up twice, then the second sign-up fails and no second user exists", async () => {
    const user = await api.signUp();

    const again = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email: user.email, password: PASSWORD, name: "Copy" });

    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.headers["set-auth-token"]).toBeUndefined();
    expect(await api.prisma.user.count({ where: { email: user.email } })).toBe(1);
  });

  it("when a password is shorter than 10 characters, then sign-up fails", async () => {
    const email = `short-${crypto.randomUUID()}@example.com`;

    const res = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email, password: "short", name: "Short" });

    expect(res.status).toBe(400);
    expect(await api.prisma.user.count({ where: { email } })).toBe(0);
  });

  it("when a user signs in with the right password, then a new session token authenticates /v1", async () => {
    const user = await api.signUp();

    const res = await signIn(user.email).expect(200);

    const token = String(res.headers["set-auth-token"]);
    expect(token).not.toBe(user.sessionToken);
    const me = await api.request.get("/v1/me").set(bearer(token)).expect(200);
    expect(me.body).toMatchObject({ id: user.id });
  });

  it("when a user signs in with a wrong password, then 401 and no token", async () => {
    const user = await api.signUp();

    const res = await signIn(user.email, "wrong-password-123");

    expect(res.status).toBe(401);
    expect(res.headers["set-auth-token"]).toBeUndefined();
  });

  it("when a browser signs in, then its session cookie authenticates /v1", async () => {
    const user = await api.signUp();
    const res = await signIn(user.email).expect(200);
    const cookies = res.headers["set-cookie"] as unknown as string[];
    const session = cookies.find((c) => c.startsWith("better-auth.session_token="));
    expect(session).toBeDefined();

    const me = await api.request
      .get("/v1/me")
      .set("Cookie", String(session?.split(";")[0]))
      .expect(200);

    expect(me.body).toMatchObject({ id: user.id });
  });
});

describe("name at sign-up", () => {
  it.each([
    ["longer than 100 characters", "x".repeat(101)],
    ["blank", "   "],
    ["with a NUL character", "Ada\u0000"],
  ])(
    "when sign-up gives a name %s, then it is refused with 422 and no user is created",
    async (_label, name) => {
      const email = `name-${crypto.randomUUID()}@example.com`;

      const res = await api.request.post("/api/auth/sign-up/email").send({ email, password: PASSWORD, name });

      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: "INVALID_NAME" });
      expect(await api.prisma.user.count({ where: { email } })).toBe(0);
    },
  );
});

describe("time zone at sign-up", () => {
  it("when sign-up names an unknown time zone, then it fails and no user is created", async () => {
    const email = `tz-${crypto.randomUUID()}@example.com`;

    const res = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email, password: PASSWORD, name: "Tz", timeZone: "Mars/Olympus_Mons" });

    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain("timeZone");
    expect(await api.prisma.user.count({ where: { email } })).toBe(0);
  });

  it("when sign-up names a time zone in another case, then the canonical name is stored", async () => {
    const user = await api.signUp({ timeZone: "europe/berlin" });

    const me = await api.as(user).get("/v1/me").expect(200);

    expect(me.body).toMatchObject({ timeZone: "Europe/Berlin" });
    expect(
      await api.prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { timeZone: true } }),
    ).toEqual({ timeZone: "Europe/Berlin" });
  });

  it("when sign-up names no time zone, then the user is in UTC", async () => {
    const user = await api.signUp();

    const me = await api.as(user).get("/v1/me").expect(200);

    expect(me.body).toMatchObject({ timeZone: "UTC" });
  });
});

describe("sign-out", () => {
  it("when a user signs out, then that session token answers 401 invalid_token and another session still works", async () => {
    const user = await api.signUp();
    const other = String((await signIn(user.email).expect(200)).headers["set-auth-token"]);
    await api.request.get("/v1/me").set(bearer(user.sessionToken)).expect(200);

    await api.request.post("/api/auth/sign-out").set(bearer(user.sessionToken)).expect(200);

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(user.sessionToken)), true);
    await api.request.get("/v1/me").set(bearer(other)).expect(200);
  });

  it("when a user signs out, then the session row is gone and no new access token can be minted with it", async () => {
    const user = await api.signUp();

    await api.request.post("/api/auth/sign-out").set(bearer(user.sessionToken)).expect(200);

    const token = await api.request.get("/api/auth/token").set(bearer(user.sessionToken));
    expect(token.status).toBe(401);
    expect(await api.prisma.session.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe("JWT access tokens", () => {
  it("when an access token is fetched, then it verifies against the served JWKS as an EdDSA token for taskmesh", async () => {
    const user = await api.signUp();
    const { port } = api.server.address() as AddressInfo;
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${port}/api/auth/jwks`));

    const { payload, protectedHeader } = await jwtVerify(user.accessToken, jwks, {
      issuer: TEST_PUBLIC_URL,
      audience: "taskmesh",
      algorithms: ["EdDSA"],
    });

    expect(protectedHeader.alg).toBe("EdDSA");
    expect(payload.sub).toBe(user.id);
    const lifetime = Number(payload.exp) - Number(payload.iat);
    expect(lifetime).toBe(15 * 60);
  });

  it("when the JWKS is read, then it holds only public Ed25519 keys", async () => {
    const res = await api.request.get("/api/auth/jwks").expect(200);

    const keys = (res.body as { keys: Record<string, unknown>[] }).keys;
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA" });
      expect(key).not.toHaveProperty("d");
    }
  });

  it("when /v1 is called with a valid access token, then the token's user is authenticated", async () => {
    const user = await api.signUp();

    const me = await api.as(user).get("/v1/me").expect(200);

    expect(me.body).toMatchObject({ id: user.id, email: user.email });
  });

  it("when an access token's payload is tampered with, then 401 invalid_token", async () => {
    const victim = await api.signUp();
    const attacker = await api.signUp();
    const [header, , signature] = attacker.accessToken.split(".");
    const payload = { ...decodeJwt(attacker.accessToken), sub: victim.id };
    const forged = [header, Buffer.from(JSON.stringify(payload)).toString("base64url"), signature].join(".");

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(forged)), true);
  });

  it("when an access token is signed by a key that is not in the JWKS, then 401 invalid_token", async () => {
    const user = await api.signUp();
    const { kid } = decodeProtectedHeader(user.accessToken);
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", ...(kid ? { kid } : {}) })
      .setSubject(user.id)
      .setIssuer(TEST_PUBLIC_URL)
      .setAudience("taskmesh")
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(forged)), true);
  });

  it("when an access token names its own embedded key, then 401 invalid_token", async () => {
    const user = await api.signUp();
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", jwk: await exportJWK(publicKey) })
      .setSubject(user.id)
      .setIssuer(TEST_PUBLIC_URL)
      .setAudience("taskmesh")
      .setExpirationTime("5m")
      .sign(privateKey);

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(forged)), true);
  });

  it("when an unsigned (alg none) token is sent, then 401 invalid_token", async () => {
    const user = await api.signUp();
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode({ ...decodeJwt(user.accessToken) })}.`;

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(unsigned)), true);
  });

  describe("expiry", () => {
    // The app's verifier on a clock the test moves; the keys come from the app's own JWKS endpoint.
    let clock = Date.now();
    let timed: TestTaskApi;
    beforeAll(async () => {
      const verifyAccessToken = createAccessTokenVerifier({
        loadJwks: async () => (await timed.request.get("/api/auth/jwks").expect(200)).body as JSONWebKeySet,
        issuer: TEST_PUBLIC_URL,
        audience: "taskmesh",
        now: () => clock,
      });
      timed = await startTaskApi({ verifyAccessToken });
    });
    afterAll(async () => {
      await timed.close();
    });

    it("when an access token has expired, then 401 invalid_token, even after it was accepted before", async () => {
      const user = await timed.signUp();
      const { exp } = decodeJwt(user.accessToken);
      clock = (Number(exp) - 60) * 1000;
      await timed.request.get("/v1/me").set(user.auth).expect(200);

      clock = (Number(exp) + 1) * 1000;
      const res = await timed.request.get("/v1/me").set(user.auth);

      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toContain('error="invalid_token"');
      expect(res.body).toMatchObject({ type: "https://taskmesh.dev/problems/unauthenticated" });
    });
  });
});

describe("every /v1 route requires authentication", () => {
  const routes = [
    ["get", "/v1/me"],
    ["patch", "/v1/me"],
    ["delete", "/v1/me"],
    ["get", "/v1/lists"],
    ["post", "/v1/lists"],
    ["get", `/v1/lists/${crypto.randomUUID()}`],
    ["patch", `/v1/lists/${crypto.randomUUID()}`],
    ["delete", `/v1/lists/${crypto.randomUUID()}`],
    ["get", "/v1/tasks"],
    ["post", "/v1/tasks"],
    ["get", `/v1/tasks/${crypto.randomUUID()}`],
    ["patch", `/v1/tasks/${crypto.randomUUID()}`],
    ["delete", `/v1/tasks/${crypto.randomUUID()}`],
    ["post", `/v1/tasks/${crypto.randomUUID()}/complete`],
    ["post", `/v1/tasks/${crypto.randomUUID()}/reopen`],
    ["get", "/v1/tags"],
    ["get", "/v1/no-such-route"],
  ] as const;

  it.each(routes)(
    "when %s %s is called without credentials, then 401 with a Bearer challenge",
    async (method, path) => {
      expectUnauthenticated(await api.request[method](path), false);
    },
  );

  it.each(routes)(
    "when %s %s is called with an unknown session token, then 401 invalid_token",
    async (method, path) => {
      expectUnauthenticated(await api.request[method](path).set(bearer("not-a-session-token")), true);
    },
  );

  it("when a session token of the right shape but never issued is sent, then 401 invalid_token", async () => {
    const user = await api.signUp();
    const [, signature] = user.sessionToken.split(".");
    const made = `${"x".repeat(32)}.${String(signature)}`;

    expectUnauthenticated(await api.request.get("/v1/me").set(bearer(made)), true);
  });

  it("when the Authorization header uses another scheme, then 401", async () => {
    const res = await api.request.get("/v1/me").set("Authorization", "Basic dXNlcjpwYXNz");

    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="taskmesh"/);
  });
});
