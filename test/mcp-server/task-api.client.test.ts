import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { List, Page, Task } from "@taskmesh/contracts";
import { AppError, UnavailableError } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTaskApi,
  restTransport,
  sidecarTransport,
  type TaskApiCall,
  type TaskApiTransport,
} from "../../services/mcp-server/src/data/task-api.client.ts";
import { startTaskApi, type TestTaskApi, type TestUser } from "../support/task-api.ts";

const problem = (status: number, detail: string, errors?: unknown[]) =>
  new Response(
    JSON.stringify({
      type: "about:blank",
      title: "x",
      status,
      code: "x",
      detail,
      ...(errors ? { errors } : {}),
    }),
    {
      status,
      headers: { "content-type": "application/problem+json" },
    },
  );

/** Answers every call with `response` and records the call: only for the mapping of answers. */
function answering(response: (call: TaskApiCall) => Response): {
  transport: TaskApiTransport;
  calls: TaskApiCall[];
} {
  const calls: TaskApiCall[] = [];
  return {
    calls,
    transport: (call) => {
      calls.push(call);
      return Promise.resolve(response(call));
    },
  };
}

const at = "2026-12-01T09:00:00.000Z";
const someTask: Task = {
  id: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f",
  listId: null,
  parentId: null,
  title: "x",
  description: null,
  completed: false,
  completedAt: null,
  priority: "none",
  tags: [],
  dueAt: null,
  allDay: false,
  dueDate: null,
  recurrence: null,
  remindAt: null,
  createdAt: at,
  updatedAt: at,
  version: 4,
};
const someList: List = {
  id: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e60",
  name: "L",
  openTaskCount: 0,
  createdAt: at,
  updatedAt: at,
  version: 1,
};
const emptyPage: Page<never> = { data: [], nextCursor: null };

/** What task-api answers a call that succeeds, as the REST contract shapes it. */
function contractAnswer(call: TaskApiCall): Response {
  if (call.method === "POST" && call.path === "v1/lists") return Response.json(someList);
  if (call.method === undefined || call.method === "GET") return Response.json(emptyPage);
  return Response.json(someTask);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe("task-api answers mapped to domain failures", () => {
  it("when task-api refuses, then each status becomes the failure the tools report, with detail and fields kept", async () => {
    const cases: [Response, string, RegExp][] = [
      [problem(404, "no"), "not-found", /^Task was not found\.$/],
      [
        problem(422, "dueAt is not a date", [{ pointer: "/dueAt", in: "body", detail: "not a date" }]),
        "validation-failed",
        /dueAt is not a date/,
      ],
      [problem(400, "bad cursor"), "validation-failed", /bad cursor/],
      [problem(409, "changed concurrently"), "conflict", /changed concurrently/],
      [problem(412, "at version 3"), "precondition-failed", /at version 3/],
      [problem(403, "read-only token"), "forbidden", /read-only token/],
      [new Response("", { status: 401 }), "forbidden", /not allowed to change this Task/],
      [new Response("", { status: 409 }), "conflict", /Task conflicts with its current state/],
      [new Response("", { status: 412 }), "precondition-failed", /changed since the version you sent/],
      [new Response("not json", { status: 422 }), "validation-failed", /refused the Task input/],
      [problem(429, "slow down"), "rate-limited", /slow down/],
      // What to do, never the upstream status or text (that is in the cause, for the log).
      [
        new Response("db at 10.0.0.5 down", { status: 500 }),
        "unavailable",
        /^taskmesh is briefly unavailable; try again in a few seconds\.$/,
      ],
      [
        new Response("", { status: 502 }),
        "unavailable",
        /^taskmesh is briefly unavailable; try again in a few seconds\.$/,
      ],
    ];
    for (const [response, code, message] of cases) {
      const error = await rejection(createTaskApi(answering(() => response.clone()).transport).getTask("t1"));
      expect(error.code, `${response.status}`).toBe(code);
      expect(error.message).toMatch(message);
    }
    const invalid = await rejection(
      createTaskApi(
        answering(() => problem(422, "bad", [{ pointer: "/dueAt", in: "body", detail: "not a date" }]))
          .transport,
      ).getTask("t"),
    );
    expect(invalid.issues).toEqual([{ pointer: "/dueAt", in: "body", detail: "not a date" }]);
  });

  it("when task-api is overloaded, then the Retry-After it sent is kept", async () => {
    const limited = await rejection(
      createTaskApi(
        answering(() => new Response("", { status: 429, headers: { "retry-after": "7" } })).transport,
      ).me(),
    );
    expect(limited.extensions).toEqual({ retryAfterSeconds: 7 });
    const down = await rejection(
      createTaskApi(
        answering(() => new Response("", { status: 503, headers: { "retry-after": "4" } })).transport,
      ).me(),
    );
    if (!(down instanceof UnavailableError)) throw new Error(`expected unavailable, got ${down.code}`);
    expect(down.retryAfterSeconds).toBe(4);
  });

  it("when a tool calls task-api, then the call names the REST route, version and idempotency key", async () => {
    const { transport, calls } = answering(contractAnswer);
    const api = createTaskApi(transport);
    await api.updateTask("a/b", { title: "x" }, 3);
    await api.completeTask("t", undefined);
    await api.createList("L", "key-1");
    await api.listTags("c1", 10);
    await api.listLists(undefined, 5);
    await api.taskHistory("t", undefined, 20);
    expect(calls[0]).toEqual({
      method: "PATCH",
      path: "v1/tasks/a%2Fb",
      body: { title: "x" },
      headers: { "if-match": '"3"' },
    });
    expect(calls[1]).toEqual({ method: "POST", path: "v1/tasks/t/complete", body: {}, headers: {} });
    expect(calls[2]).toEqual({
      method: "POST",
      path: "v1/lists",
      body: { name: "L" },
      headers: { "idempotency-key": "key-1" },
    });
    expect(calls[3]?.query?.toString()).toBe("limit=10&cursor=c1");
    expect(calls[4]?.query?.toString()).toBe("limit=5");
    expect(calls[5]?.path).toBe("v1/tasks/t/history");
  });
});

describe("transports", () => {
  it("when the mcp-server calls task-api through its sidecar, then only the user id and the token's scope travel with the call", async () => {
    const invoked: unknown[] = [];
    const userId = randomUUID();
    const send = sidecarTransport(
      {
        invoke: (appId, method, request) => {
          invoked.push({ appId, method, request });
          return Promise.resolve(new Response(null, { status: 204 }));
        },
      },
      "task-api",
      userId,
      "read",
    );
    await send({ path: "v1/tasks", query: new URLSearchParams({ limit: "5" }) });
    await send({
      method: "POST",
      path: "v1/tasks",
      body: { title: "x" },
      headers: { "idempotency-key": "k" },
    });
    await send({ path: "v1/me", query: new URLSearchParams() });
    expect(invoked).toEqual([
      {
        appId: "task-api",
        method: "v1/tasks",
        request: {
          method: "GET",
          headers: { "x-taskmesh-user-id": userId, "x-taskmesh-scope": "read" },
          query: "limit=5",
        },
      },
      {
        appId: "task-api",
        method: "v1/tasks",
        request: {
          method: "POST",
          headers: { "idempotency-key": "k", "x-taskmesh-user-id": userId, "x-taskmesh-scope": "read" },
          body: { title: "x" },
        },
      },
      {
        appId: "task-api",
        method: "v1/me",
        request: { method: "GET", headers: { "x-taskmesh-user-id": userId, "x-taskmesh-scope": "read" } },
      },
    ]);
  });

  describe("restTransport (stdio: task-api's REST API with the user's own token)", () => {
    let api: TestTaskApi;
    let user: TestUser;
    let base: string;
    beforeAll(async () => {
      api = await startTaskApi();
      user = await api.signUp();
      base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await api.close();
    });

    it("when the token is the user's, then tools read and write through the public API", async () => {
      const token = (
        await api.request
          .post("/v1/tokens")
          .set(user.auth)
          .send({ name: "desk", scope: "read-write" })
          .expect(201)
      ).body as { token: string };
      const client = createTaskApi(restTransport(base, token.token));
      const created = await client.createTask({ title: "from the desktop" }, "desk-1");
      expect((await client.getTask(created.id)).title).toBe("from the desktop");
      expect(
        (await client.listTasks(new URLSearchParams({ status: "open" }))).data.map((t) => t.id),
      ).toContain(created.id);
      await client.deleteTask(created.id, created.version);
      expect((await rejection(client.getTask(created.id))).code).toBe("not-found");
      expect((await client.me()).id).toBe(user.id);
    });

    it("when the token is read-only, then writes are refused as forbidden", async () => {
      const token = (
        await api.request.post("/v1/tokens").set(user.auth).send({ name: "ro", scope: "read" }).expect(201)
      ).body as { token: string };
      const client = createTaskApi(restTransport(base, token.token));
      expect((await rejection(client.createTask({ title: "no" }))).code).toBe("forbidden");
    });

    it("when task-api cannot be reached, then unavailable, saying what to do; the address only in the cause", async () => {
      const client = createTaskApi(restTransport("http://127.0.0.1:1", "tmpat_x", 2000));
      const error = await rejection(client.me());
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe("taskmesh is briefly unavailable; try again in a few seconds.");
      expect((error.cause as Error).message).toMatch(/task-api at http:\/\/127.0.0.1:1 is unreachable/);
    });
  });
});
