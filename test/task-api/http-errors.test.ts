import { Writable } from "node:stream";
import type { PrismaClient } from "@taskmesh/db";
import { pino } from "pino";
import type { Response } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../services/task-api/src/data/database.ts";
import { startTaskApi, type TestTaskApi, type TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const api = useTaskApi();

/** Every problem answer: RFC 9457 members, a stable type per code, the request id echoed. */
function expectProblem(res: Response, status: number, code: string, instance: string): void {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: `https://taskmesh.dev/problems/${code}`,
    title: expect.any(String) as unknown,
    status,
    detail: expect.any(String) as unknown,
    instance,
    code,
    requestId: res.headers["x-request-id"],
  });
}

describe("problem+json for client errors", () => {
  it("when the JSON body is malformed, then 400 malformed-json", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/lists", '{"name": "unterminated', { "Content-Type": "application/json" });

    expectProblem(res, 400, "malformed-json", "/v1/lists");
  });

  it("when the JSON body is a bare string, then 400 malformed-json (objects only)", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/lists", '"Groceries"', { "Content-Type": "application/json" });

    expectProblem(res, 400, "malformed-json", "/v1/lists");
  });

  it("when the body is text/plain, then 415 naming the accepted types", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/lists", '{"name":"Groceries"}', { "Content-Type": "text/plain" });

    expectProblem(res, 415, "unsupported-media-type", "/v1/lists");
    expect(res.body).toMatchObject({ accept: expect.arrayContaining(["application/json"]) as unknown });
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when the body is a form, then 415", async () => {
    const user = await api.signUp();
    const res = await api.as(user).patch("/v1/me").type("form").send({ name: "Form" });

    expectProblem(res, 415, "unsupported-media-type", "/v1/me");
  });

  it("when the JSON body is in a charset other than UTF-8, then 415", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/lists", '{"name":"x"}', { "Content-Type": "application/json; charset=latin1" });

    expectProblem(res, 415, "unsupported-media-type", "/v1/lists");
  });

  it("when the body is larger than 64 KiB, then 413 and nothing is stored", async () => {
    const user = await api.signUp();
    const body = JSON.stringify({ name: "big", padding: "x".repeat(64 * 1024) });

    const res = await api.as(user).post("/v1/lists", body, { "Content-Type": "application/json" });

    expectProblem(res, 413, "payload-too-large", "/v1/lists");
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when the body is just under 64 KiB, then it is parsed (and judged on its fields)", async () => {
    const user = await api.signUp();
    const body = JSON.stringify({ name: "big", padding: "x".repeat(60 * 1024) });

    const res = await api.as(user).post("/v1/lists", body, { "Content-Type": "application/json" });

    expectProblem(res, 422, "validation-failed", "/v1/lists");
    expect(res.body).toMatchObject({ errors: [{ pointer: "/padding", in: "body" }] });
  });

  it("when fields break the schema, then 422 with one JSON Pointer per field, nested ones included", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/tasks", { title: " ", priority: "someday", tags: ["ok", "has,comma"], colour: "red" });

    expectProblem(res, 422, "validation-failed", "/v1/tasks");
    const errors = (res.body as { errors: { pointer: string; in: string; detail: string }[] }).errors;
    expect(errors.map((e) => e.pointer).sort()).toEqual(["/colour", "/priority", "/tags/1", "/title"]);
    for (const error of errors)
      expect(error).toMatchObject({ in: "body", detail: expect.any(String) as unknown });
  });

  it("when a POST has no body at all, then 422 asking for one", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/lists");

    expectProblem(res, 422, "validation-failed", "/v1/lists");
  });

  it("when a query parameter is invalid, then 400 pointing into the query, and instance has no query string", async () => {
    const user = await api.signUp();
    const res = await api.as(user).get("/v1/tasks?limit=1000&secret=token");

    expectProblem(res, 400, "bad-request", "/v1/tasks");
    const pointers = (res.body as { errors: { pointer: string; in: string }[] }).errors.map((e) => [
      e.pointer,
      e.in,
    ]);
    expect(pointers).toEqual(
      expect.arrayContaining([
        ["/limit", "query"],
        ["/secret", "query"],
      ]),
    );
  });

  it.each([
    ["get", "/no-such-route"],
    ["post", "/v2/tasks"],
    ["get", "/api"],
  ] as const)("when %s %s matches no route, then 404 problem+json", async (method, path) => {
    const res = await api.request[method](path);

    expectProblem(res, 404, "not-found", path);
  });

  it.each([
    ["get", "/v1/nothing-here"],
    // PUT /v1/lists is a known path with another method: 405 (method-not-allowed.test.ts).
    ["put", "/v1/lists/a/b"],
    ["get", "/v1/tasks/a/b/c"],
  ] as const)("when an authenticated %s %s matches no route, then 404 problem+json", async (method, path) => {
    const user = await api.signUp();
    const res = await api.request[method](path).set(user.auth);

    expectProblem(res, 404, "not-found", path);
  });
});

describe("unexpected failures (500)", () => {
  const SECRET_SQL = 'SELECT password_hash FROM "accounts" WHERE user_id = $1';

  /** A database whose every call fails with the kind of message a driver produces: SQL, a table, a host. */
  function brokenDatabase(): Database {
    const fail = () =>
      Promise.reject(new Error(`relation "accounts" does not exist at 10.0.0.7:5432 in ${SECRET_SQL}`));
    const prisma = new Proxy(
      {},
      {
        get: () => {
          throw new Error(`prisma exploded running ${SECRET_SQL}`);
        },
      },
    ) as PrismaClient;
    return { prisma, read: { query: fail }, transaction: fail };
  }

  let broken: TestTaskApi;
  let brokenUser: TestUser;
  const logLines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    broken = await startTaskApi({ db: brokenDatabase(), logger: pino({ level: "error" }, sink) });
    // Auth uses its own database access, so users can still sign up and hold valid tokens.
    brokenUser = await broken.signUp();
  });
  afterAll(async () => {
    await broken.close();
  });

  function expectGenericBody(res: Response): void {
    expect(res.text).not.toMatch(/SELECT|password_hash|accounts|10\.0\.0\.7|prisma|exploded/i);
    expect(res.text).not.toMatch(/\bat .+:\d+:\d+/); // no stack frames
    expect(res.text).not.toMatch(/node_modules|\.ts\b|Error:/);
  }

  it.each([
    ["get", "/v1/me", undefined],
    ["get", "/v1/lists", undefined],
    ["post", "/v1/lists", { name: "x" }],
    ["patch", "/v1/me", { name: "x" }],
    ["get", "/v1/tags", undefined],
  ] as const)(
    "when %s %s fails inside, then 500 problem+json with a generic detail and a request id, no SQL or stack",
    async (method, path, body) => {
      const res = await broken.request[method](path).set(brokenUser.auth).send(body);

      expectProblem(res, 500, "internal", path);
      expect(res.body).toMatchObject({ title: "Internal server error" });
      expect((res.body as { requestId: string }).requestId).toBe(res.headers["x-request-id"]);
      expectGenericBody(res);
    },
  );

  it("when a request fails inside, then the cause is logged with the same request id", async () => {
    const res = await broken.request
      .get("/v1/lists")
      .set(brokenUser.auth)
      .set("X-Request-Id", "trace-500-check")
      .expect(500);

    expect(res.body).toMatchObject({ requestId: "trace-500-check" });
    const logged = logLines.filter((line) => line.includes("trace-500-check")).join("\n");
    expect(logged).toContain('relation \\"accounts\\" does not exist');
  });
});

describe("request ids", () => {
  it("when a request carries no X-Request-Id, then a new UUID is answered", async () => {
    const a = await api.request.get("/healthz").expect(200);
    const b = await api.request.get("/healthz").expect(200);

    expect(a.headers["x-request-id"]).toMatch(UUID);
    expect(b.headers["x-request-id"]).toMatch(UUID);
    expect(a.headers["x-request-id"]).not.toBe(b.headers["x-request-id"]);
  });

  it("when a request carries a safe X-Request-Id, then it is kept and echoed, also in problems", async () => {
    const user = await api.signUp();
    const id = "edge-7f3a.42:retry@2";

    const ok = await api.as(user).get("/v1/me", { "X-Request-Id": id }).expect(200);
    const problem = await api.as(user).get("/v1/lists/nope", { "X-Request-Id": id }).expect(404);

    expect(ok.headers["x-request-id"]).toBe(id);
    expect(problem.headers["x-request-id"]).toBe(id);
    expect(problem.body).toMatchObject({ requestId: id });
  });

  it.each([
    ["with spaces and markup", "<script>alert(1)</script> x"],
    ["longer than 128 characters", "a".repeat(129)],
    ["with a header-splitting attempt", "abc%0d%0aSet-Cookie:x=1"],
  ])("when an incoming X-Request-Id is %s, then it is replaced by a fresh UUID", async (_case, id) => {
    const res = await api.request.get("/v1/nothing").set("X-Request-Id", id);

    expect(res.headers["x-request-id"]).toMatch(UUID);
    expect(res.body).toMatchObject({ requestId: res.headers["x-request-id"] });
    expect(res.headers["set-cookie"]).toBeUndefined();
  });
});

describe("security headers (helmet)", () => {
  it.each([
    ["an API response", "/v1/me", true],
    ["a problem", "/no-such-route", false],
    ["the docs page", "/docs", false],
  ] as const)(
    "when %s is served, then helmet's headers are set and X-Powered-By is not",
    async (_case, path, authenticated) => {
      const user = await api.signUp();
      const req = api.request.get(path);
      const res = await (authenticated ? req.set(user.auth) : req);

      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["content-security-policy"]).toContain("default-src 'self'");
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'self'");
      expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
      expect(res.headers["cross-origin-opener-policy"]).toBe("same-origin");
      expect(res.headers["x-powered-by"]).toBeUndefined();
    },
  );
});

describe("CORS", () => {
  const ALLOWED = "https://app.taskmesh.example";

  it("when no origins are configured, then no response allows any origin, preflights included", async () => {
    const user = await api.signUp();
    const get = await api.as(user).get("/v1/me", { Origin: ALLOWED }).expect(200);
    const preflight = await api.request
      .options("/v1/lists")
      .set("Origin", ALLOWED)
      .set("Access-Control-Request-Method", "POST")
      .set("Access-Control-Request-Headers", "authorization,content-type");

    expect(get.headers["access-control-allow-origin"]).toBeUndefined();
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    expect(preflight.headers["access-control-allow-methods"]).toBeUndefined();
  });

  describe("with an allowlist", () => {
    let cors: TestTaskApi;
    let corsUser: TestUser;
    beforeAll(async () => {
      cors = await startTaskApi({ corsOrigins: [ALLOWED] });
      corsUser = await cors.signUp();
    });
    afterAll(async () => {
      await cors.close();
    });

    it("when an allowed origin calls, then it is allowed with credentials and sees the API's headers", async () => {
      const res = await cors.request
        .post("/v1/lists")
        .set(corsUser.auth)
        .set("Origin", ALLOWED)
        .send({ name: "From the browser" })
        .expect(201);

      expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
      expect(res.headers["access-control-allow-credentials"]).toBe("true");
      const exposed = String(res.headers["access-control-expose-headers"]).toLowerCase();
      for (const header of ["etag", "location", "x-request-id", "ratelimit", "retry-after"])
        expect(exposed).toContain(header);
      expect(String(res.headers.vary)).toMatch(/origin/i);
    });

    it("when an allowed origin sends a preflight, then it is answered with the allowed methods", async () => {
      const res = await cors.request
        .options("/v1/lists")
        .set("Origin", ALLOWED)
        .set("Access-Control-Request-Method", "PATCH")
        .set("Access-Control-Request-Headers", "authorization,content-type,if-match");

      expect(res.status).toBe(204);
      expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED);
      expect(String(res.headers["access-control-allow-methods"])).toContain("PATCH");
    });

    it.each([
      ["https://evil.example"],
      ["https://app.taskmesh.example.evil.example"],
      ["http://app.taskmesh.example"],
    ])("when origin %s calls, then it is not allowed", async (origin) => {
      const res = await cors.request.get("/v1/me").set(corsUser.auth).set("Origin", origin);
      const preflight = await cors.request
        .options("/v1/me")
        .set("Origin", origin)
        .set("Access-Control-Request-Method", "DELETE");

      expect(res.headers["access-control-allow-origin"]).toBeUndefined();
      expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    });
  });
});
