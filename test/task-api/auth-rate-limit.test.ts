/**
 * The limits on Better Auth's endpoints are keyed on the client IP Express trusts
 * (TRUST_PROXY_HOPS / req.ip), like the rest of the API, never on a client-written
 * X-Forwarded-For; sign-in and sign-up are also limited per email address, across IPs.
 */
import { describe, expect, it } from "vitest";
import type { TestTaskApi } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const PASSWORD = "correct-horse-battery";

function expectLimited(res: { status: number; headers: Record<string, string>; body: unknown }): void {
  expect(res.status).toBe(429);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 429, code: "rate-limited" });
  expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
}

const signIn = (api: TestTaskApi, email: string, password: string, ip?: string) => {
  const req = api.request.post("/api/auth/sign-in/email");
  if (ip !== undefined) req.set("X-Forwarded-For", ip);
  return req.send({ email, password });
};

describe("sign-in per IP behind one trusted proxy", () => {
  const api = useTaskApi({
    rateLimit: { ipPerMinute: 0, userPerMinute: 0, signInPerIpPerMinute: 3, signInPerEmailPerMinute: 0 },
    trustProxyHops: 1,
  });

  it("when one client hits the sign-in limit, then another client still signs in", async () => {
    const victim = await api.signUp();
    for (let i = 0; i < 3; i++)
      expect((await signIn(api, victim.email, `wrong-guess-${String(i)}`, "203.0.113.1")).status).toBe(401);

    expectLimited(await signIn(api, victim.email, PASSWORD, "203.0.113.1"));
    const other = await signIn(api, victim.email, PASSWORD, "203.0.113.2");
    expect(other.status, other.text).toBe(200);
  });

  it("when a client is limited, then sign-up from it is refused too and creates no user", async () => {
    for (let i = 0; i < 3; i++) await signIn(api, "nobody@example.com", "wrong-guess", "203.0.113.3");
    const email = "limited-sign-up@example.com";

    const res = await api.request
      .post("/api/auth/sign-up/email")
      .set("X-Forwarded-For", "203.0.113.3")
      .send({ email, password: PASSWORD, name: "Limited" });

    expectLimited(res);
    expect(await api.prisma.user.count({ where: { email } })).toBe(0);
  });
});

describe("sign-in per IP with no trusted proxy (TRUST_PROXY_HOPS=0)", () => {
  const api = useTaskApi({
    rateLimit: { ipPerMinute: 0, userPerMinute: 0, signInPerIpPerMinute: 3, signInPerEmailPerMinute: 0 },
    trustProxyHops: 0,
  });

  it("when a client sends a new X-Forwarded-For with each attempt, then it gets no fresh bucket", async () => {
    const victim = await api.signUp();
    for (let i = 0; i < 3; i++) await signIn(api, victim.email, "wrong-guess", `198.51.100.${String(i + 1)}`);

    expectLimited(await signIn(api, victim.email, PASSWORD, "198.51.100.99"));
    expectLimited(await signIn(api, victim.email, PASSWORD));
  });
});

describe("sign-in per email", () => {
  const api = useTaskApi({
    rateLimit: { ipPerMinute: 0, userPerMinute: 0, signInPerIpPerMinute: 100, signInPerEmailPerMinute: 2 },
    trustProxyHops: 1,
  });

  it("when guesses at one account come from many IPs, then the email limit still holds; other accounts are not affected", async () => {
    const victim = await api.signUp();
    const bystander = await api.signUp();
    await signIn(api, victim.email, "wrong-guess", "192.0.2.1");
    await signIn(api, victim.email.toUpperCase(), "wrong-guess", "192.0.2.2");

    expectLimited(await signIn(api, victim.email, PASSWORD, "192.0.2.3"));
    expectLimited(
      await api.request
        .post("/api/auth/sign-in/email")
        .set("X-Forwarded-For", "192.0.2.4")
        .type("form")
        .send({ email: ` ${victim.email} `, password: PASSWORD }),
    );
    const other = await signIn(api, bystander.email, PASSWORD, "192.0.2.3");
    expect(other.status, other.text).toBe(200);
  });
});

describe("Better Auth's own limiter", () => {
  const api = useTaskApi({ trustProxyHops: 0 }, { authRateLimit: true });

  it("when X-Forwarded-For changes with every request and no proxy is trusted, then Better Auth still counts one client", async () => {
    // Its default rule: 30 requests per 60 s per client and path.
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) {
      const res = await api.request
        .get("/api/auth/get-session")
        .set("X-Forwarded-For", `10.1.0.${String(i + 1)}`);
      statuses.push(res.status);
    }

    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
  });
});
