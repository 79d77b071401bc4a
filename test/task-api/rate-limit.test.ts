import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { useTaskApi } from "../support/task-api-fixtures.ts";

/** Parses an IETF RateLimit / RateLimit-Policy header (draft 8) into { "<policy>": { param: value } }. */
function parseItems(header: string | undefined): Record<string, Record<string, string>> {
  const items: Record<string, Record<string, string>> = {};
  for (const item of (header ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = "", ...params] = item.split(";").map((s) => s.trim());
    items[name.replaceAll('"', "")] = Object.fromEntries(params.map((p) => p.split("=") as [string, string]));
  }
  return items;
}

function expectRateLimited(res: Response, policy: "user" | "ip", limit: number): void {
  expect(res.status).toBe(429);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: "https://taskmesh.dev/problems/rate-limited",
    title: "Too many requests",
    status: 429,
    requestId: res.headers["x-request-id"],
  });
  const retryAfter = Number(res.headers["retry-after"]);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(parseItems(res.headers.ratelimit)[policy]).toMatchObject({ r: "0" });
  expect(parseItems(res.headers["ratelimit-policy"])[policy]).toMatchObject({ q: String(limit), w: "60" });
}

describe("per-user limit", () => {
  const api = useTaskApi({ rateLimit: { ipPerMinute: 0, userPerMinute: 3 } });

  it("when a user makes one request more than the limit, then 429 problem+json with Retry-After and the IETF headers", async () => {
    const user = await api.signUp();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await api.as(user).get("/v1/me").expect(200);
      expect(parseItems(ok.headers["ratelimit-policy"]).user).toMatchObject({ q: "3", w: "60" });
      remaining.push(String(parseItems(ok.headers.ratelimit).user?.r));
    }

    const res = await api.as(user).get("/v1/me");

    expect(remaining).toEqual(["2", "1", "0"]);
    expectRateLimited(res, "user", 3);
  });

  it("when a user is limited, then writes are refused too and nothing is created", async () => {
    const user = await api.signUp();
    for (let i = 0; i < 3; i++) await api.as(user).get("/v1/tags").expect(200);

    const res = await api.as(user).post("/v1/lists", { name: "too many" });

    expectRateLimited(res, "user", 3);
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when one user is limited, then another user is not", async () => {
    const busy = await api.signUp();
    const calm = await api.signUp();
    for (let i = 0; i < 3; i++) await api.as(busy).get("/v1/me").expect(200);
    await api.as(busy).get("/v1/me").expect(429);

    const res = await api.as(calm).get("/v1/me").expect(200);

    expect(parseItems(res.headers.ratelimit).user).toMatchObject({ r: "2" });
  });

  it("when a user switches between session token and access token, then both count against the same user budget", async () => {
    const user = await api.signUp();
    const session = { Authorization: `Bearer ${user.sessionToken}` };
    await api.as(user).get("/v1/me").expect(200);
    await api.request.get("/v1/me").set(session).expect(200);
    await api.as(user).get("/v1/me").expect(200);

    expectRateLimited(await api.request.get("/v1/me").set(session), "user", 3);
  });

  it("when requests are unauthenticated, then they do not use up any user's budget", async () => {
    const user = await api.signUp();
    for (let i = 0; i < 5; i++) await api.request.get("/v1/me").expect(401);

    await api.as(user).get("/v1/me").expect(200);
  });
});

describe("per-IP limit", () => {
  // One proxy hop is trusted, so X-Forwarded-For names the client, as behind the ingress.
  const api = useTaskApi({ rateLimit: { ipPerMinute: 5, userPerMinute: 0 }, trustProxyHops: 1 });

  it("when an IP makes one request more than the limit, then 429 problem+json with Retry-After and the IETF headers", async () => {
    const ip = "203.0.113.10";
    for (let i = 0; i < 5; i++) {
      const ok = await api.request.get("/api/auth/jwks").set("X-Forwarded-For", ip).expect(200);
      expect(parseItems(ok.headers.ratelimit).ip).toMatchObject({ r: String(4 - i) });
    }

    expectRateLimited(await api.request.get("/api/auth/jwks").set("X-Forwarded-For", ip), "ip", 5);
  });

  it("when an IP is limited, then another IP is not", async () => {
    for (let i = 0; i < 5; i++)
      await api.request.get("/v1/me").set("X-Forwarded-For", "203.0.113.20").expect(401);
    await api.request.get("/v1/me").set("X-Forwarded-For", "203.0.113.20").expect(429);

    const res = await api.request.get("/v1/me").set("X-Forwarded-For", "203.0.113.21");

    expect(res.status).toBe(401);
    expect(parseItems(res.headers.ratelimit).ip).toMatchObject({ r: "4" });
  });

  it("when an IP is limited, then sign-in attempts from it are refused before checking the password", async () => {
    const ip = "203.0.113.30";
    for (let i = 0; i < 5; i++) {
      await api.request
        .post("/api/auth/sign-in/email")
        .set("X-Forwarded-For", ip)
        .send({ email: "nobody@example.com", password: `guess-number-${i}` });
    }

    const res = await api.request
      .post("/api/auth/sign-in/email")
      .set("X-Forwarded-For", ip)
      .send({ email: "nobody@example.com", password: "guess-number-6" });

    expectRateLimited(res, "ip", 5);
  });

  it("when an IP is limited, then unauthenticated and authenticated requests from it are both refused", async () => {
    const ip = "203.0.113.40";
    for (let i = 0; i < 5; i++) await api.request.get("/v1/me").set("X-Forwarded-For", ip).expect(401);
    const user = await api.signUp();

    expectRateLimited(await api.as(user).get("/v1/me", { "X-Forwarded-For": ip }), "ip", 5);
  });

  it("when an IP is limited, then health, readiness and metrics still answer for it", async () => {
    const ip = "203.0.113.50";
    for (let i = 0; i < 6; i++) await api.request.get("/v1/me").set("X-Forwarded-For", ip);

    await api.request.get("/healthz").set("X-Forwarded-For", ip).expect(200);
    await api.request.get("/readyz").set("X-Forwarded-For", ip).expect(200);
    await api.opsRequest.get("/metrics").set("X-Forwarded-For", ip).expect(200);
  });

  it("when IPv6 clients share a /56, then they share a budget", async () => {
    for (let i = 0; i < 5; i++)
      await api.request
        .get("/v1/me")
        .set("X-Forwarded-For", `2001:db8:1234:5600::${String(i + 1)}`)
        .expect(401);

    const res = await api.request.get("/v1/me").set("X-Forwarded-For", "2001:db8:1234:56ff::99");

    expectRateLimited(res, "ip", 5);
  });
});
