import { createSidecarClient } from "@taskmesh/dapr";
import type { PrismaClient } from "@taskmesh/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../services/task-api/src/data/database.ts";
import { auditLogTaskHistory } from "../../services/task-api/src/data/task-history.client.ts";
import { startTaskApi, type TestTaskApi, type TestUser } from "../support/task-api.ts";
import { call, OPERATIONS, useContractApi } from "../support/task-api-openapi.ts";

const WITH_ID = OPERATIONS.filter(([, path]) => path.includes("{id}"));
const isTokens = (path: string): boolean => path.startsWith("/v1/tokens");
// Tokens have no versions (a token is created and revoked, never changed).
const WITH_IF_MATCH = OPERATIONS.filter(
  ([method, path]) => path.includes("{id}") && method !== "get" && !isTokens(path),
);
const WITH_BODY = OPERATIONS.filter(([method]) => method === "post" || method === "patch");
const WITH_SCHEMA_BODY = WITH_BODY.filter(([, path]) => !/complete|reopen/.test(path));
const PAGED = OPERATIONS.filter(
  ([method, path]) => method === "get" && !path.includes("{id}") && path !== "/v1/me",
);
const WRITES = OPERATIONS.filter(([method]) => method !== "get");
/** Only the user in person (session or its own access token) may: 403 for any token. */
const IN_PERSON = OPERATIONS.filter(
  ([method, path]) => isTokens(path) || (method === "delete" && path === "/v1/me"),
);
/** Writes a read-only token is refused (those not already in person only). */
const READ_ONLY_REFUSED = WRITES.filter((operation) => !IN_PERSON.includes(operation));

const { api, history, check, expectAllChecked } = useContractApi();

describe("error responses match the document", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await api.signUp();
  });

  async function personalAccessToken(scope: "read" | "read-write"): Promise<string> {
    const res = await api.as(user).post("/v1/tokens", { name: "contract", scope }).expect(201);
    return (res.body as { token: string }).token;
  }

  async function existing(path: string): Promise<string> {
    const res = path.startsWith("/v1/lists")
      ? await api.as(user).post("/v1/lists", { name: "Existing" }).expect(201)
      : await api.as(user).post("/v1/tasks", { title: "Existing" }).expect(201);
    return (res.body as { id: string }).id;
  }

  it.each(OPERATIONS)(
    "when %s %s is called without credentials, then the 401 matches",
    async (...operation) => {
      const res = await call(api, operation);
      check(res, operation, 401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="taskmesh"');
    },
  );

  it.each(OPERATIONS)(
    "when %s %s is called with a tampered token, then the 401 matches",
    async (...operation) => {
      const forged = `${user.accessToken.slice(0, -4)}AAAA`;
      const res = await call(api, operation).set("Authorization", `Bearer ${forged}`);
      check(res, operation, 401);
    },
  );

  it.each(READ_ONLY_REFUSED)(
    "when %s %s is called with a read-only personal access token, then the 403 matches",
    async (...operation) => {
      const token = await personalAccessToken("read");
      const res = await call(api, operation).set("Authorization", `Bearer ${token}`);
      check(res, operation, 403);
      expect(res.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    },
  );

  it.each(IN_PERSON)(
    "when %s %s is called with a read-write personal access token, then the 403 matches",
    async (...operation) => {
      const token = await personalAccessToken("read-write");
      check(await call(api, operation).set("Authorization", `Bearer ${token}`), operation, 403);
    },
  );

  it.each(WITH_ID)(
    "when %s %s names an id that does not exist, then the 404 matches",
    async (...operation) => {
      check(await call(api, operation, { auth: user }), operation, 404);
    },
  );

  it.each(WITH_IF_MATCH)("when %s %s sends a stale If-Match, then the 412 matches", async (...operation) => {
    const id = await existing(operation[1]);
    check(await call(api, operation, { auth: user, id }).set("If-Match", '"99"'), operation, 412);
  });

  it.each(WITH_BODY)("when %s %s gets malformed JSON, then the 400 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "application/json")
      .send("{oops");
    check(res, operation, 400);
  });

  it.each(WITH_BODY)("when %s %s gets text/plain, then the 415 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "text/plain")
      .send("plain text");
    check(res, operation, 415);
  });

  it.each(WITH_BODY)("when %s %s gets more than 64 KiB, then the 413 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ pad: "x".repeat(70_000) }));
    check(res, operation, 413);
  });

  it.each(WITH_SCHEMA_BODY)(
    "when %s %s gets an unknown field, then the 422 matches",
    async (...operation) => {
      const res = await call(api, operation, { auth: user, body: { unknownField: true } });
      check(res, operation, 422);
    },
  );

  it.each([
    ["post", "/v1/tasks/{id}/complete"],
    ["post", "/v1/tasks/{id}/reopen"],
  ] as const)(
    "when %s %s reuses an Idempotency-Key of another request, then the 422 matches",
    async (...operation) => {
      const first = await existing("/v1/tasks");
      const second = await existing("/v1/tasks");
      const key = `reuse-${crypto.randomUUID()}`;
      await call(api, operation, { auth: user, id: first }).set("Idempotency-Key", key);

      check(
        await call(api, operation, { auth: user, id: second }).set("Idempotency-Key", key),
        operation,
        422,
      );
    },
  );

  it.each(PAGED)("when %s %s gets an invalid query, then the 400 matches", async (...operation) => {
    check(await call(api, operation, { auth: user }).query({ limit: 0 }), operation, 400);
  });

  it("when GET /v1/tasks/{id}/history gets an invalid query, then the 400 matches", async () => {
    const operation = ["get", "/v1/tasks/{id}/history"] as const;
    const id = await existing("/v1/tasks");
    check(await call(api, operation, { auth: user, id }).query({ limit: 101 }), operation, 400);
  });

  it("when GET /v1/tasks/{id}/history finds no sidecar to reach audit-log through, then the 503 matches", async () => {
    const operation = ["get", "/v1/tasks/{id}/history"] as const;
    // A sidecar address where nothing listens.
    const cut = await startTaskApi({
      taskHistory: auditLogTaskHistory(createSidecarClient({ baseUrl: "http://127.0.0.1:9" })),
    });
    try {
      const owner = await cut.signUp();
      const res = await call(cut, operation, { auth: owner });
      check(res, operation, 503);
      expect(res.headers["retry-after"]).toBeDefined();
    } finally {
      await cut.close();
    }
  });
});

describe("rate-limited responses match the document", () => {
  let limited: TestTaskApi;
  let user: TestUser;
  beforeAll(async () => {
    limited = await startTaskApi({ rateLimit: { ipPerMinute: 0, userPerMinute: 1 } });
    user = await limited.signUp();
    await limited.request.get("/v1/me").set(user.auth).expect(200);
  });
  afterAll(async () => {
    await limited.close();
  });

  it.each(OPERATIONS)("when %s %s is over the limit, then the 429 matches", async (...operation) => {
    const res = await call(limited, operation, { auth: user });
    check(res, operation, 429);
    expect(res.headers["retry-after"]).toBeDefined();
  });
});

describe("database failures match the document", () => {
  let failure: () => Error = () => new Error("unset");
  let broken: TestTaskApi;
  let user: TestUser;
  beforeAll(async () => {
    const fail = () => Promise.reject(failure());
    const prisma = new Proxy(
      {},
      {
        get: () => {
          throw failure();
        },
      },
    ) as PrismaClient;
    const db: Database = { prisma, read: { query: fail }, transaction: fail };
    broken = await startTaskApi({ db, taskHistory: history });
    user = await broken.signUp();
  });
  afterAll(async () => {
    await broken.close();
  });

  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each(OPERATIONS)(
    "when %s %s meets an unexpected database error, then the 500 matches",
    async (...operation) => {
      failure = () => pgError("42P01", 'relation "tasks" does not exist');
      check(await call(broken, operation, { auth: user }), operation, 500);
    },
  );

  it.each(OPERATIONS)(
    "when %s %s finds the database shutting down, then the 503 matches",
    async (...operation) => {
      failure = () => pgError("57P01", "terminating connection due to administrator command");
      const res = await call(broken, operation, { auth: user });
      check(res, operation, 503);
      expect(res.headers["retry-after"]).toBeDefined();
    },
  );

  it.each(WRITES)("when %s %s loses a serialization race, then the 409 matches", async (...operation) => {
    failure = () => pgError("40001", "could not serialize access due to concurrent update");
    check(await call(broken, operation, { auth: user }), operation, 409);
  });
});

describe("coverage", () => {
  it("when all of the above has run, then every documented error status (400 and above) of every operation was seen and checked", () => {
    expectAllChecked((status) => !(Number(status) < 400));
  });
});
