import { createSidecarClient } from "@taskmesh/dapr";
import type { PrismaClient } from "@taskmesh/db";
import type { Response, Test } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../services/task-api/src/data/database.ts";
import {
  auditLogTaskHistory,
  type TaskHistory,
  type TaskHistoryPage,
} from "../../services/task-api/src/data/task-history.client.ts";
import { loadOpenApiContract, type OpenApiContract } from "../support/openapi.ts";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "../support/task-api.ts";

type Method = "get" | "post" | "patch" | "delete";
type Operation = readonly [Method, string];

/** Every operation the document must describe; a route added to one and not the other fails here. */
const OPERATIONS: readonly Operation[] = [
  ["get", "/v1/me"],
  ["patch", "/v1/me"],
  ["delete", "/v1/me"],
  ["get", "/v1/lists"],
  ["post", "/v1/lists"],
  ["get", "/v1/lists/{id}"],
  ["patch", "/v1/lists/{id}"],
  ["delete", "/v1/lists/{id}"],
  ["get", "/v1/tasks"],
  ["post", "/v1/tasks"],
  ["get", "/v1/tasks/{id}"],
  ["patch", "/v1/tasks/{id}"],
  ["delete", "/v1/tasks/{id}"],
  ["post", "/v1/tasks/{id}/complete"],
  ["post", "/v1/tasks/{id}/reopen"],
  ["get", "/v1/tasks/{id}/history"],
  ["get", "/v1/tags"],
  ["get", "/v1/tokens"],
  ["post", "/v1/tokens"],
  ["get", "/v1/tokens/{id}"],
  ["delete", "/v1/tokens/{id}"],
];

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

/** A body each operation accepts, so a test reaches the part it is about. */
const VALID_BODY: Partial<Record<string, object>> = {
  "patch /v1/me": { name: "Valid Name" },
  "post /v1/lists": { name: "Valid list" },
  "patch /v1/lists/{id}": { name: "Valid list" },
  "post /v1/tasks": { title: "Valid task" },
  "patch /v1/tasks/{id}": { title: "Valid task" },
  "post /v1/tokens": { name: "Valid token", scope: "read", expiresInDays: 30 },
};

/**
 * History pages by task id. This file checks responses against the document, so the history
 * comes from here; the real path (task-api -> sidecars -> audit-log) is tested in
 * task-history.test.ts.
 */
const recordedHistory = new Map<string, TaskHistoryPage>();
const history: TaskHistory = {
  read: ({ taskId }) => Promise.resolve(recordedHistory.get(taskId) ?? { items: [], nextCursor: null }),
};

let api: TestTaskApi;
let contract: OpenApiContract;
beforeAll(async () => {
  api = await startTaskApi({ taskHistory: history });
  contract = await loadOpenApiContract(api.request);
});
afterAll(async () => {
  await api.close();
});

function call(
  target: TestTaskApi,
  [method, template]: Operation,
  options: { id?: string; auth?: TestUser; body?: object } = {},
): Test {
  const path = template.replace("{id}", options.id ?? crypto.randomUUID());
  let req = target.request[method](path);
  if (options.auth) req = req.set(options.auth.auth);
  const body = options.body ?? VALID_BODY[`${method} ${template}`];
  return body === undefined ? req : req.send(body);
}

/** Asserts the status, then checks the whole response against the document. */
function check(res: Response, [method, path]: Operation, status: number): Response {
  expect(res.status, `${method.toUpperCase()} ${path}: ${res.text}`).toBe(status);
  return contract.validate(res, method, path);
}

describe("the document", () => {
  it("when /openapi.json is read, then it is OpenAPI 3.1 for this server with exactly the known operations", () => {
    expect(contract.document.openapi).toMatch(/^3\.1\.\d+$/);
    expect((contract.document as unknown as { servers: { url: string }[] }).servers).toEqual([
      { url: TEST_PUBLIC_URL },
    ]);
    const documented = contract.operations.map((o) => `${o.method} ${o.path}`).sort();
    expect(documented).toEqual(OPERATIONS.map(([m, p]) => `${m} ${p}`).sort());
  });

  it("when any operation is read, then it requires a bearer token or session and documents 401, 429, 500 and 503", () => {
    for (const { operation, method, path } of contract.operations) {
      const label = `${method} ${path}`;
      expect((operation as { security?: unknown }).security, label).toEqual([
        { bearer: [] },
        { session: [] },
      ]);
      expect(Object.keys(operation.responses), label).toEqual(
        expect.arrayContaining(["401", "429", "500", "503"]),
      );
    }
  });

  it("when a response is not documented for the operation, then the checker rejects it", async () => {
    const user = await api.signUp();
    const res = await api.request.get("/v1/me").set(user.auth).expect(200);

    expect(() => contract.validate(res, "get", "/v1/nowhere")).toThrow(/not documented/);
    expect(() => contract.validate(res, "get", "/v1/lists")).toThrow(
      /not for GET \/v1\/lists|is for GET \/v1\/me/,
    );
    const teapot = {
      status: 418,
      text: res.text,
      headers: res.headers,
      request: res.request,
    } as unknown as Response;
    expect(() => contract.validate(teapot, "get", "/v1/me")).toThrow(/418, which is not documented/);
  });

  it("when a body breaks the documented schema, then the checker names the field", async () => {
    const user = await api.signUp();
    const res = await api.request.get("/v1/me").set(user.auth).expect(200);
    const text = JSON.stringify({ ...(res.body as object), timeZone: 5 });
    const broken = { status: 200, text, headers: res.headers, request: res.request } as unknown as Response;

    expect(() => contract.validate(broken, "get", "/v1/me")).toThrow(/timeZone/);
  });
});

describe("/docs", () => {
  it("when /docs is opened, then it is an HTML page whose scripts and styles are all served here (no CDN)", async () => {
    const page = await api.request
      .get("/docs")
      .expect(200)
      .expect("Content-Type", /text\/html/);

    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets).toEqual(expect.arrayContaining(["/docs/assets/swagger-ui-bundle.js", "/docs/init.js"]));
    expect(page.text).not.toMatch(/https?:\/\/|src="\/\/|href="\/\//);
    for (const asset of assets) {
      expect(asset.startsWith("/")).toBe(true);
      const res = await api.request.get(asset);
      expect(res.status, asset).toBe(200);
      expect(res.headers["content-type"], asset).toMatch(asset.endsWith(".css") ? /text\/css/ : /javascript/);
      expect(Number(res.headers["content-length"] ?? (res.text || "").length), asset).toBeGreaterThan(0);
    }
  });

  it("when the docs start, then they load this server's /openapi.json", async () => {
    const init = await api.request.get("/docs/init.js").expect(200);

    expect(init.text).toContain('"/openapi.json"');
  });
});

describe("success responses match the document", () => {
  const op = (method: Method, path: string): Operation => [method, path];

  /** A user with a list, a task with every field set, a subtask with a due instant and a bare task. */
  async function seeded(): Promise<{ user: TestUser; listId: string; richTaskId: string }> {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const listId = (
      (await api.request.post("/v1/lists").set(user.auth).send({ name: "Contract" }).expect(201)).body as {
        id: string;
      }
    ).id;
    const rich = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({
        title: "Rich task",
        description: "With **every** field set",
        priority: "high",
        tags: ["contract", "Docs"],
        listId,
        dueAt: "2026-12-01",
        recurrence: "FREQ=WEEKLY;BYDAY=MO",
        remindAt: "2026-11-30T08:00:00+01:00",
      })
      .expect(201);
    const richTaskId = (rich.body as { id: string }).id;
    await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "Subtask", parentId: richTaskId, dueAt: "2026-12-01T09:00:00Z" })
      .expect(201);
    await api.request.post("/v1/tasks").set(user.auth).send({ title: "Bare task" }).expect(201);
    return { user, listId, richTaskId };
  }

  async function created(user: TestUser, path: "/v1/lists" | "/v1/tasks", body: object): Promise<string> {
    return ((await api.request.post(path).set(user.auth).send(body).expect(201)).body as { id: string }).id;
  }

  it("when GET /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp({ timeZone: "Asia/Kolkata" });

    check(await api.request.get("/v1/me").set(user.auth), op("get", "/v1/me"), 200);
  });

  it("when PATCH /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp();

    check(
      await api.request
        .patch("/v1/me")
        .set(user.auth)
        .send({ name: "Contract User", timeZone: "America/Sao_Paulo" }),
      op("patch", "/v1/me"),
      200,
    );
  });

  it("when DELETE /v1/me succeeds, then it matches", async () => {
    const { user } = await seeded();

    check(await api.request.delete("/v1/me").set(user.auth), op("delete", "/v1/me"), 204);
  });

  it("when GET /v1/lists succeeds, on a middle and a last page, then both match", async () => {
    const { user } = await seeded();
    await created(user, "/v1/lists", { name: "Second" });

    const first = check(
      await api.request.get("/v1/lists?limit=1").set(user.auth),
      op("get", "/v1/lists"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(
      await api.request.get("/v1/lists").query({ limit: 100, cursor }).set(user.auth),
      op("get", "/v1/lists"),
      200,
    );
  });

  it("when POST /v1/lists succeeds, first and replayed, then both match", async () => {
    const user = await api.signUp();
    const create = () =>
      api.request
        .post("/v1/lists")
        .set(user.auth)
        .set("Idempotency-Key", "contract-list")
        .send({ name: "Created" });

    check(await create(), op("post", "/v1/lists"), 201);
    check(await create(), op("post", "/v1/lists"), 201);
  });

  it("when GET /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(await api.request.get(`/v1/lists/${listId}`).set(user.auth), op("get", "/v1/lists/{id}"), 200);
  });

  it("when PATCH /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(
      await api.request
        .patch(`/v1/lists/${listId}`)
        .set(user.auth)
        .set("If-Match", '"1"')
        .send({ name: "Renamed" }),
      op("patch", "/v1/lists/{id}"),
      200,
    );
  });

  it("when DELETE /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(
      await api.request.delete(`/v1/lists/${listId}`).set(user.auth),
      op("delete", "/v1/lists/{id}"),
      204,
    );
  });

  it("when GET /v1/tasks succeeds, with filters, search and paging, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(
      await api.request.get("/v1/tasks?limit=1&status=all").set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(
      await api.request.get("/v1/tasks").query({ limit: 1, status: "all", cursor }).set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    check(
      await api.request
        .get("/v1/tasks")
        .query({ q: "rich", tag: "contract", priority: "high,urgent" })
        .set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    check(
      await api.request
        .get("/v1/tasks")
        .query({ sort: "-priority,title", dueBefore: "2027-01-01" })
        .set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
  });

  it("when POST /v1/tasks succeeds, bare and with every field, then both match", async () => {
    const { user, listId, richTaskId } = await seeded();

    check(
      await api.request.post("/v1/tasks").set(user.auth).send({ title: "Posted" }),
      op("post", "/v1/tasks"),
      201,
    );
    const full = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "contract-task")
      .send({
        title: "Posted in full",
        description: "d",
        priority: "urgent",
        tags: ["a"],
        listId,
        parentId: richTaskId,
        dueAt: "2026-12-24T18:00:00-05:00",
        remindAt: "2026-12-24T12:00:00Z",
      });
    check(full, op("post", "/v1/tasks"), 201);
  });

  it("when GET /v1/tasks/{id} succeeds, and again with If-None-Match, then 200 and 304 match", async () => {
    const { user, richTaskId } = await seeded();

    const res = check(
      await api.request.get(`/v1/tasks/${richTaskId}`).set(user.auth),
      op("get", "/v1/tasks/{id}"),
      200,
    );
    check(
      await api.request
        .get(`/v1/tasks/${richTaskId}`)
        .set(user.auth)
        .set("If-None-Match", String(res.headers.etag)),
      op("get", "/v1/tasks/{id}"),
      304,
    );
  });

  it("when PATCH /v1/tasks/{id} succeeds, as JSON and as merge patch, then both match", async () => {
    const user = await api.signUp();
    const id = await created(user, "/v1/tasks", { title: "Patch me" });

    check(
      await api.request
        .patch(`/v1/tasks/${id}`)
        .set(user.auth)
        .send({ priority: "low", dueAt: "2026-12-02" }),
      op("patch", "/v1/tasks/{id}"),
      200,
    );
    const merge = await api.request
      .patch(`/v1/tasks/${id}`)
      .set(user.auth)
      .set("Content-Type", "application/merge-patch+json")
      .send(JSON.stringify({ dueAt: null, tags: ["merged"] }));
    check(merge, op("patch", "/v1/tasks/{id}"), 200);
  });

  it("when DELETE /v1/tasks/{id} succeeds, then it matches", async () => {
    const { user, richTaskId } = await seeded();

    check(
      await api.request.delete(`/v1/tasks/${richTaskId}`).set(user.auth),
      op("delete", "/v1/tasks/{id}"),
      204,
    );
  });

  it("when a recurring task is completed and another reopened, then complete and reopen match", async () => {
    const { user, richTaskId } = await seeded();
    const id = await created(user, "/v1/tasks", { title: "Reopen me" });
    await api.request.post(`/v1/tasks/${id}/complete`).set(user.auth).expect(200);

    check(
      await api.request.post(`/v1/tasks/${richTaskId}/complete`).set(user.auth),
      op("post", "/v1/tasks/{id}/complete"),
      200,
    );
    check(
      await api.request.post(`/v1/tasks/${id}/reopen`).set(user.auth).set("If-Match", '"2"'),
      op("post", "/v1/tasks/{id}/reopen"),
      200,
    );
  });

  it("when GET /v1/tasks/{id}/history succeeds, for a task with history and for a new one, then both match", async () => {
    const { user, richTaskId } = await seeded();
    recordedHistory.set(richTaskId, {
      items: [
        {
          eventId: crypto.randomUUID(),
          type: "dev.taskmesh.task.created.v1",
          sequence: 1,
          occurredAt: "2026-11-26T09:00:00.000Z",
          actor: { kind: "user", id: user.id },
          changes: {},
        },
        {
          eventId: crypto.randomUUID(),
          type: "dev.taskmesh.task.updated.v1",
          sequence: 2,
          occurredAt: "2026-11-26T09:05:00.000Z",
          actor: { kind: "service", id: "mcp-server" },
          changes: { priority: { from: "none", to: "high" } },
        },
      ],
      nextCursor: "eyJzIjoyfQ",
    });
    const bare = await created(user, "/v1/tasks", { title: "No history yet" });

    check(
      await api.request.get(`/v1/tasks/${richTaskId}/history?limit=2`).set(user.auth),
      op("get", "/v1/tasks/{id}/history"),
      200,
    );
    check(
      await api.request.get(`/v1/tasks/${bare}/history`).set(user.auth),
      op("get", "/v1/tasks/{id}/history"),
      200,
    );
  });

  it("when tokens are created, listed (paged), read and revoked, then every response matches", async () => {
    const user = await api.signUp();
    const created = check(
      await api.request.post("/v1/tokens").set(user.auth).send({ name: "Contract", scope: "read-write" }),
      op("post", "/v1/tokens"),
      201,
    );
    const id = (created.body as { id: string; token: string }).id;
    const secret = (created.body as { token: string }).token;
    await api.request.get("/v1/me").set("Authorization", `Bearer ${secret}`).expect(200);
    check(
      await api.request
        .post("/v1/tokens")
        .set(user.auth)
        .send({ name: "Dated", scope: "read", expiresAt: new Date(Date.now() + 86_400_000).toISOString() }),
      op("post", "/v1/tokens"),
      201,
    );
    const first = check(
      await api.request.get("/v1/tokens?limit=1").set(user.auth),
      op("get", "/v1/tokens"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tokens").query({ cursor }).set(user.auth), op("get", "/v1/tokens"), 200);
    check(await api.request.get(`/v1/tokens/${id}`).set(user.auth), op("get", "/v1/tokens/{id}"), 200);
    check(await api.request.delete(`/v1/tokens/${id}`).set(user.auth), op("delete", "/v1/tokens/{id}"), 204);
  });

  it("when GET /v1/tags succeeds, paged, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(await api.request.get("/v1/tags?limit=1").set(user.auth), op("get", "/v1/tags"), 200);
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tags").query({ cursor }).set(user.auth), op("get", "/v1/tags"), 200);
  });
});

describe("error responses match the document", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await api.signUp();
  });

  async function personalAccessToken(scope: "read" | "read-write"): Promise<string> {
    const res = await api.request
      .post("/v1/tokens")
      .set(user.auth)
      .send({ name: "contract", scope })
      .expect(201);
    return (res.body as { token: string }).token;
  }

  async function existing(path: string): Promise<string> {
    const res = path.startsWith("/v1/lists")
      ? await api.request.post("/v1/lists").set(user.auth).send({ name: "Existing" }).expect(201)
      : await api.request.post("/v1/tasks").set(user.auth).send({ title: "Existing" }).expect(201);
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
  it("when all of the above has run, then every documented status of every operation was seen and checked", () => {
    const missing = contract.operations.flatMap(({ method, path, operation }) =>
      Object.keys(operation.responses)
        .map((status) => `${method.toUpperCase()} ${path} ${status}`)
        .filter((key) => !contract.validated.has(key)),
    );
    expect(missing).toEqual([]);
  });
});
