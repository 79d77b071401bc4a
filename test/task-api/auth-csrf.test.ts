/**
 * Sign-up and sign-in from server-side clients (Node's fetch, curl) work without inventing an
 * Origin, while Better Auth's CSRF protection still refuses what a browser sends cross-site: a
 * real headless Chromium (Debian's, through playwright-core) on a page of another site posts a
 * form and calls fetch; neither creates a user. Plus the 64 KiB body limit in front of Better Auth.
 */
import { randomUUID } from "node:crypto";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const PASSWORD = "correct-horse-battery";

const api = useTaskApi();
let base: string;
beforeAll(() => {
  const address = api.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  base = `http://127.0.0.1:${String(address.port)}`;
});

const newEmail = () => `user-${randomUUID()}@example.com`;
const usersWith = (email: string) => api.prisma.user.count({ where: { email } });

describe("server-side clients", () => {
  it("when Node's fetch signs up and signs in without an Origin, then both answer 200 with a session token", async () => {
    const email = newEmail();
    const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD, name: "Backend Service" }),
    });
    expect(signUp.status, await signUp.clone().text()).toBe(200);
    expect(signUp.headers.get("set-auth-token")).toBeTruthy();

    const signIn = await fetch(`${base}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    expect(signIn.status, await signIn.clone().text()).toBe(200);
    const token = signIn.headers.get("set-auth-token") ?? "";
    const me = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe(email);
  });

  it("when a curl-like client (no Sec-Fetch headers, no Origin) signs up, then 200", async () => {
    const email = newEmail();
    const body = JSON.stringify({ email, password: PASSWORD, name: "Curl User" });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/api/auth/sign-up/email`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect(await usersWith(email)).toBe(1);
  });

  it("when a request carries a cookie but no Origin, then sign-up is refused as a browser's would be and no user is created", async () => {
    const email = newEmail();
    const res = await fetch(`${base}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: "better-auth.session_token=x" },
      body: JSON.stringify({ email, password: PASSWORD, name: "Cookie Client" }),
    });
    expect(res.status).toBe(403);
    expect(await usersWith(email)).toBe(0);
  });

  it("when a request says Sec-Fetch-Site cross-site with an untrusted Origin, then sign-in is refused", async () => {
    const user = await api.signUp();
    const res = await fetch(`${base}/api/auth/sign-in/email`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "sec-fetch-site": "cross-site",
        origin: "http://evil.example",
      },
      body: JSON.stringify({ email: user.email, password: PASSWORD }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("set-auth-token")).toBeNull();
  });
});

describe("a browser on another site", () => {
  let browser: Browser;
  let attacker: Server;
  let attackerOrigin: string;
  let page = "";

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    attacker = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(page);
    });
    await new Promise<void>((resolve) => attacker.listen(0, "127.0.0.1", resolve));
    const address = attacker.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    // localhost vs 127.0.0.1: another site, not only another origin.
    attackerOrigin = `http://localhost:${String(address.port)}`;
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await new Promise<void>((resolve) => {
      attacker.close(() => {
        resolve();
      });
    });
  });

  it("when a cross-site HTML form posts a sign-up, then it is refused and no user is created", async () => {
    const email = newEmail();
    page = `<!doctype html><form id="f" method="POST" action="${base}/api/auth/sign-up/email">
      <input name="email" value="${email}"><input name="password" value="${PASSWORD}">
      <input name="name" value="Victim"><button id="go">Go</button></form>`;
    const tab = await browser.newPage();
    try {
      await tab.goto(`${attackerOrigin}/`);
      const [response] = await Promise.all([
        tab.waitForResponse((r) => r.url().endsWith("/api/auth/sign-up/email")),
        tab.click("#go"),
      ]);
      const headers = await response.request().allHeaders();
      expect(headers["sec-fetch-site"]).toBe("cross-site");
      expect(response.status()).toBe(403);
    } finally {
      await tab.close();
    }
    expect(await usersWith(email)).toBe(0);
  });

  it("when a cross-site page calls fetch to sign up and to sign in, then both are refused and no session is made", async () => {
    const victim = await api.signUp();
    const email = newEmail();
    page = "<!doctype html><title>attacker</title>";
    const tab = await browser.newPage();
    // What task-api answered (the page cannot see it: helmet's CORP makes the fetch fail).
    const statuses: number[] = [];
    const record = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith("/api/auth/sign-")) res.on("finish", () => statuses.push(res.statusCode));
    };
    api.server.prependListener("request", record);
    try {
      await tab.goto(`${attackerOrigin}/`);
      const sessionsBefore = await api.prisma.session.count({ where: { userId: victim.id } });
      const answers = await tab.evaluate(
        async ({ base, email, victimEmail, password }) => {
          const form = (fields: Record<string, string>) => ({
            method: "POST",
            credentials: "include" as const,
            // A "simple" no-cors request: no preflight, so it reaches the server (the page
            // cannot read the answer, but the server would act on it).
            mode: "no-cors" as const,
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams(fields).toString(),
          });
          const out: string[] = [];
          for (const [path, fields] of [
            ["sign-up", { email, password, name: "Victim" }],
            ["sign-in", { email: victimEmail, password }],
          ] as const) {
            out.push(await fetch(`${base}/api/auth/${path}/email`, form(fields)).then((r) => r.type, String));
          }
          return out;
        },
        { base, email, victimEmail: victim.email, password: PASSWORD },
      );
      expect(answers).toHaveLength(2);
      await expect.poll(() => statuses.length).toBe(2);
      expect(statuses).toEqual([403, 403]);
      expect(await api.prisma.session.count({ where: { userId: victim.id } })).toBe(sessionsBefore);
    } finally {
      api.server.off("request", record);
      await tab.close();
    }
    expect(await usersWith(email)).toBe(0);
  });
});

describe("body limit", () => {
  it("when a sign-up body is larger than 64 KiB, then 413 problem+json and no user is created", async () => {
    const email = newEmail();
    const res = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email, password: PASSWORD, name: "Big Body", padding: "x".repeat(70 * 1024) });

    expect(res.status).toBe(413);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 413, code: "payload-too-large" });
    expect(await usersWith(email)).toBe(0);
  });

  it("when a body just under 64 KiB is sent, then Better Auth still reads it", async () => {
    const email = newEmail();
    const res = await api.request
      .post("/api/auth/sign-up/email")
      .send({ email, password: PASSWORD, name: "Near Limit", padding: "x".repeat(60 * 1024) });

    expect(res.status, res.text).not.toBe(413);
    expect(res.status).toBeLessThan(500);
  });

  it("when a form-encoded sign-in is sent by a server-side client, then Better Auth reads the body as before", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/api/auth/sign-in/email")
      .type("form")
      .send({ email: user.email, password: PASSWORD });
    expect(res.status, res.text).toBe(200);
  });
});
