import { describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import {
  call,
  type Linked,
  linksOf,
  type Method,
  type Operation,
  useContractApi,
  VALID_BODY,
} from "../support/task-api-openapi.ts";

const { api, contract, recordedHistory, check, expectAllChecked } = useContractApi();

describe("success responses match the document", () => {
  const op = (method: Method, path: string): Operation => [method, path];

  /** A user with a list, a task with every field set, a subtask with a due instant and a bare task. */
  async function seeded(): Promise<{ user: TestUser; listId: string; richTaskId: string }> {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const listId = (
      (await api.as(user).post("/v1/lists", { name: "Contract" }).expect(201)).body as {
        id: string;
      }
    ).id;
    const rich = await api
      .as(user)
      .post("/v1/tasks", {
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
    await api
      .as(user)
      .post("/v1/tasks", { title: "Subtask", parentId: richTaskId, dueAt: "2026-12-01T09:00:00Z" })
      .expect(201);
    await api.as(user).post("/v1/tasks", { title: "Bare task" }).expect(201);
    return { user, listId, richTaskId };
  }

  async function created(user: TestUser, path: "/v1/lists" | "/v1/tasks", body: object): Promise<string> {
    return ((await api.as(user).post(path, body).expect(201)).body as { id: string }).id;
  }

  it("when GET /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp({ timeZone: "Asia/Kolkata" });

    check(await api.as(user).get("/v1/me"), op("get", "/v1/me"), 200);
  });

  it("when PATCH /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp();

    check(
      await api.as(user).patch("/v1/me", { name: "Contract User", timeZone: "America/Sao_Paulo" }),
      op("patch", "/v1/me"),
      200,
    );
  });

  it("when DELETE /v1/me succeeds, then it matches", async () => {
    const { user } = await seeded();

    check(await api.as(user).delete("/v1/me"), op("delete", "/v1/me"), 204);
  });

  it("when GET /v1/lists succeeds, on a middle and a last page, then both match", async () => {
    const { user } = await seeded();
    await created(user, "/v1/lists", { name: "Second" });

    const first = check(await api.as(user).get("/v1/lists?limit=1"), op("get", "/v1/lists"), 200);
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
      api.as(user).post("/v1/lists", { name: "Created" }, { "Idempotency-Key": "contract-list" });

    check(await create(), op("post", "/v1/lists"), 201);
    check(await create(), op("post", "/v1/lists"), 201);
  });

  it("when GET /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(await api.as(user).get(`/v1/lists/${listId}`), op("get", "/v1/lists/{id}"), 200);
  });

  it("when PATCH /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(
      await api.as(user).patch(`/v1/lists/${listId}`, { name: "Renamed" }, { "If-Match": '"1"' }),
      op("patch", "/v1/lists/{id}"),
      200,
    );
  });

  it("when DELETE /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(await api.as(user).delete(`/v1/lists/${listId}`), op("delete", "/v1/lists/{id}"), 204);
  });

  it("when GET /v1/tasks succeeds, with filters, search and paging, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(await api.as(user).get("/v1/tasks?limit=1&status=all"), op("get", "/v1/tasks"), 200);
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

    check(await api.as(user).post("/v1/tasks", { title: "Posted" }), op("post", "/v1/tasks"), 201);
    const full = await api.as(user).post(
      "/v1/tasks",
      {
        title: "Posted in full",
        description: "d",
        priority: "urgent",
        tags: ["a"],
        listId,
        parentId: richTaskId,
        dueAt: "2026-12-24T18:00:00-05:00",
        remindAt: "2026-12-24T12:00:00Z",
      },
      { "Idempotency-Key": "contract-task" },
    );
    check(full, op("post", "/v1/tasks"), 201);
  });

  it("when GET /v1/tasks/{id} succeeds, and again with If-None-Match, then 200 and 304 match", async () => {
    const { user, richTaskId } = await seeded();

    const res = check(await api.as(user).get(`/v1/tasks/${richTaskId}`), op("get", "/v1/tasks/{id}"), 200);
    check(
      await api.as(user).get(`/v1/tasks/${richTaskId}`, { "If-None-Match": String(res.headers.etag) }),
      op("get", "/v1/tasks/{id}"),
      304,
    );
  });

  it("when PATCH /v1/tasks/{id} succeeds, as JSON and as merge patch, then both match", async () => {
    const user = await api.signUp();
    const id = await created(user, "/v1/tasks", { title: "Patch me" });

    check(
      await api.as(user).patch(`/v1/tasks/${id}`, { priority: "low", dueAt: "2026-12-02" }),
      op("patch", "/v1/tasks/{id}"),
      200,
    );
    const merge = await api
      .as(user)
      .patch(`/v1/tasks/${id}`, JSON.stringify({ dueAt: null, tags: ["merged"] }), {
        "Content-Type": "application/merge-patch+json",
      });
    check(merge, op("patch", "/v1/tasks/{id}"), 200);
  });

  it("when DELETE /v1/tasks/{id} succeeds, then it matches", async () => {
    const { user, richTaskId } = await seeded();

    check(await api.as(user).delete(`/v1/tasks/${richTaskId}`), op("delete", "/v1/tasks/{id}"), 204);
  });

  it("when a recurring task is completed and another reopened, then complete and reopen match", async () => {
    const { user, richTaskId } = await seeded();
    const id = await created(user, "/v1/tasks", { title: "Reopen me" });
    await api.as(user).post(`/v1/tasks/${id}/complete`).expect(200);

    check(
      await api.as(user).post(`/v1/tasks/${richTaskId}/complete`),
      op("post", "/v1/tasks/{id}/complete"),
      200,
    );
    check(
      await api.as(user).post(`/v1/tasks/${id}/reopen`, undefined, { "If-Match": '"2"' }),
      op("post", "/v1/tasks/{id}/reopen"),
      200,
    );
  });

  it("when GET /v1/tasks/{id}/history succeeds, for a task with history and for a new one, then both match", async () => {
    const { user, richTaskId } = await seeded();
    recordedHistory.set(richTaskId, {
      data: [
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
      await api.as(user).get(`/v1/tasks/${richTaskId}/history?limit=2`),
      op("get", "/v1/tasks/{id}/history"),
      200,
    );
    check(await api.as(user).get(`/v1/tasks/${bare}/history`), op("get", "/v1/tasks/{id}/history"), 200);
  });

  it("when tokens are created, listed (paged), read and revoked, then every response matches", async () => {
    const user = await api.signUp();
    const created = check(
      await api.as(user).post("/v1/tokens", { name: "Contract", scope: "read-write" }),
      op("post", "/v1/tokens"),
      201,
    );
    const id = (created.body as { id: string; token: string }).id;
    const secret = (created.body as { token: string }).token;
    await api.request.get("/v1/me").set("Authorization", `Bearer ${secret}`).expect(200);
    check(
      await api.as(user).post("/v1/tokens", {
        name: "Dated",
        scope: "read",
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      }),
      op("post", "/v1/tokens"),
      201,
    );
    const first = check(await api.as(user).get("/v1/tokens?limit=1"), op("get", "/v1/tokens"), 200);
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tokens").query({ cursor }).set(user.auth), op("get", "/v1/tokens"), 200);
    check(await api.as(user).get(`/v1/tokens/${id}`), op("get", "/v1/tokens/{id}"), 200);
    check(await api.as(user).delete(`/v1/tokens/${id}`), op("delete", "/v1/tokens/{id}"), 204);
  });

  it("when GET /v1/tags succeeds, paged, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(await api.as(user).get("/v1/tags?limit=1"), op("get", "/v1/tags"), 200);
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tags").query({ cursor }).set(user.auth), op("get", "/v1/tags"), 200);
  });
});

describe("links", () => {
  it("when each create's links are followed on what it created, then every linked operation succeeds as documented", async () => {
    const user = await api.signUp();
    let followed = 0;
    for (const create of contract.operations.filter(
      ({ method, operation }) => method === "post" && "201" in operation.responses,
    )) {
      for (const [name, link] of Object.entries(linksOf(create.operation.responses["201"]))) {
        const source: Operation = [create.method as Method, create.path];
        const made = check(await call(api, source, { auth: user }), source, 201);
        const target = contract.operations.find(
          (o) => (o.operation as Linked).operationId === link.operationId,
        );
        if (!target) throw new Error(`${name}: no operation ${link.operationId}`);
        const values = Object.entries(link.parameters ?? {}).map(([key, expression]) => {
          const body = /^\$response\.body#\/(\w+)$/.exec(expression)?.[1];
          const header = /^\$response\.header\.([\w-]+)$/.exec(expression)?.[1];
          const value = body
            ? (made.body as Record<string, unknown>)[body]
            : made.headers[String(header).toLowerCase()];
          const parameter = target.operation.parameters?.find((p) => p.name === key);
          return { in: parameter?.in, name: key, value: String(value) };
        });
        let path = target.path;
        for (const v of values.filter((v) => v.in === "path")) path = path.replace(`{${v.name}}`, v.value);
        const operation: Operation = [target.method as Method, target.path];
        let req = api.request[operation[0]](path).set(user.auth);
        const body = VALID_BODY[`${operation[0]} ${operation[1]}`];
        if (body) req = req.send(body);
        for (const v of values.filter((v) => v.in === "query")) req = req.query({ [v.name]: v.value });
        for (const v of values.filter((v) => v.in === "header")) req = req.set(v.name, v.value);
        const res = await req;
        expect(res.status, `${create.path} ${name}: ${res.text}`).toBeLessThan(300);
        contract.validate(res, operation[0], operation[1]);
        followed++;
      }
    }
    expect(followed).toBeGreaterThan(0);
  });
});

describe("coverage", () => {
  it("when all of the above has run, then every documented success status (below 400) of every operation was seen and checked", () => {
    expectAllChecked((status) => Number(status) < 400);
  });
});
