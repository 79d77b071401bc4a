import { afterAll, beforeAll, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

let api: TestTaskApi;
beforeAll(async () => { api = await startTaskApi({ rateLimit: { ipPerMinute: 100, userPerMinute: 3 }, corsOrigins: [] }); });
afterAll(async () => { await api.close(); });

it("explore", async () => {
  const u = await api.signUp({ timeZone: "europe/berlin" });
  console.log("session", u.sessionToken, "jwt", u.accessToken.slice(0, 30));
  const me = await api.request.get("/v1/me").set(u.auth);
  console.log("me", me.status, me.body, me.headers);
  const me2 = await api.request.get("/v1/me").set("Authorization", `Bearer ${u.sessionToken}`);
  console.log("me session", me2.status);
  const bad = await api.request.post("/api/auth/sign-up/email").send({ email: "x@example.com", password: "correct-horse-battery", name: "x", timeZone: "Mars/Olympus" });
  console.log("bad tz", bad.status, bad.body);
  const jwks = await api.request.get("/api/auth/jwks");
  console.log("jwks", jwks.status, jwks.headers["content-type"], JSON.stringify(jwks.body));
  const signIn = await api.request.post("/api/auth/sign-in/email").send({ email: u.email, password: "correct-horse-battery" });
  console.log("signin", signIn.status, signIn.headers["set-auth-token"], Object.keys(signIn.body as object));
  const wrong = await api.request.post("/api/auth/sign-in/email").send({ email: u.email, password: "wrong-password-123" });
  console.log("wrong", wrong.status, wrong.body);
  const so = await api.request.post("/api/auth/sign-out").set("Authorization", `Bearer ${u.sessionToken}`);
  console.log("signout", so.status, so.body);
  const me3 = await api.request.get("/v1/me").set("Authorization", `Bearer ${u.sessionToken}`);
  console.log("me after signout", me3.status, me3.headers["www-authenticate"], me3.body);
  const r = await api.request.get("/v1/tasks/0193a000-0000-7000-8000-000000000000").set(u.auth);
  console.log("404", r.status, r.headers);
  const m = await api.request.get("/metrics");
  console.log(m.text.split("\n").filter((l) => l.includes("http_request_duration_seconds_count")).join("\n"));
  const h = await api.request.get("/healthz");
  console.log(h.headers);
});
