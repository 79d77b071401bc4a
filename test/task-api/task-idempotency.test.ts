import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * Idempotency-Key on the task routes: replays, reuse with another request, concurrency and
 * lifetime. Every test signs up its own user.
 */

const api = useTaskApi();
const { createTask, readTask, taskCount, postWithKey } = taskApiFixtures(api);

describe("Idempotency-Key", () => {
  it("when a create is retried with the same key and body, then the first response is replayed and nothing new is created", async () => {
    const user = await api.signUp();
    const body = { title: "once", tags: ["a"], dueAt: "2026-12-01" };
    const first = await postWithKey(user, "/v1/tasks", body, "create-1").expect(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const retry = await postWithKey(user, "/v1/tasks", body, "create-1").expect(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
    expect(await taskCount(user)).toBe(1);
  });

  it("when the retry's body has the same fields in another order, then it is the same request and is replayed", async () => {
    const user = await api.signUp();
    const first = await postWithKey(user, "/v1/tasks", { title: "t", priority: "low" }, "k").expect(201);
    const retry = await api
      .as(user)
      .post("/v1/tasks", '{ "priority": "low",  "title": "t" }', {
        "Idempotency-Key": "k",
        "Content-Type": "application/json",
      })
      .expect(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect(await taskCount(user)).toBe(1);
  });

  it("when the task changed after the first response, then a retry still replays the first response and changes nothing", async () => {
    const user = await api.signUp();
    const first = await postWithKey(user, "/v1/tasks", { title: "t" }, "k").expect(201);
    const id = taskOf(first).id;
    await api.as(user).patch(`/v1/tasks/${id}`, { title: "changed" }).expect(200);
    const current = await readTask(user, id);
    const retry = await postWithKey(user, "/v1/tasks", { title: "t" }, "k").expect(201);
    expect(retry.body).toEqual(first.body);
    expect(await readTask(user, id)).toEqual(current);
  });

  it("when the same key comes with another body, then 422 idempotency-key-reused and nothing changes", async () => {
    const user = await api.signUp();
    const first = await postWithKey(user, "/v1/tasks", { title: "first" }, "k").expect(201);
    const res = await postWithKey(user, "/v1/tasks", { title: "second" }, "k");
    expectProblem(res, 422, "idempotency-key-reused");
    expect(await taskCount(user)).toBe(1);
    expect(await readTask(user, taskOf(first).id)).toEqual(taskOf(first));
  });

  it("when the same key is used on another route, then 422 idempotency-key-reused and nothing changes", async () => {
    const user = await api.signUp();
    const created = taskOf(await postWithKey(user, "/v1/tasks", { title: "t" }, "k").expect(201));
    const res = await postWithKey(user, `/v1/tasks/${created.id}/complete`, undefined, "k");
    expectProblem(res, 422, "idempotency-key-reused");
    expect(await readTask(user, created.id)).toEqual(created);
  });

  it("when many requests with one key arrive at once, then exactly one task is created and all answer with it", async () => {
    const user = await api.signUp();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => postWithKey(user, "/v1/tasks", { title: "burst" }, "burst").then()),
    );
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 201));
    expect(new Set(responses.map((r) => taskOf(r).id)).size).toBe(1);
    expect(responses.filter((r) => r.headers["idempotent-replayed"] === undefined)).toHaveLength(1);
    expect(await taskCount(user)).toBe(1);
  });

  it("when a complete is retried with its key after the task was reopened, then the first response is replayed and the task stays open", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const first = await postWithKey(user, `/v1/tasks/${created.id}/complete`, undefined, "done-1").expect(
      200,
    );
    const reopened = taskOf(await api.as(user).post(`/v1/tasks/${created.id}/reopen`).expect(200));
    const retry = await postWithKey(user, `/v1/tasks/${created.id}/complete`, undefined, "done-1").expect(
      200,
    );
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
    expect(await readTask(user, created.id)).toEqual(reopened);
  });

  it("when a reopen is retried with its key, then it is replayed and the version does not move", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).post(`/v1/tasks/${created.id}/complete`).expect(200);
    const first = await postWithKey(user, `/v1/tasks/${created.id}/reopen`, undefined, "open-1").expect(200);
    const retry = await postWithKey(user, `/v1/tasks/${created.id}/reopen`, undefined, "open-1").expect(200);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect((await readTask(user, created.id)).version).toBe(3);
  });

  it("when a request with a key is rejected, then the key is not used up and a corrected retry creates the task", async () => {
    const user = await api.signUp();
    const rejected = await postWithKey(user, "/v1/tasks", { title: "t", listId: randomUUID() }, "k");
    expectProblem(rejected, 422, "validation-failed", ["/listId"]);
    expect(await taskCount(user)).toBe(0);
    const res = await postWithKey(user, "/v1/tasks", { title: "t" }, "k").expect(201);
    expect(res.headers["idempotent-replayed"]).toBeUndefined();
    expect(await taskCount(user)).toBe(1);
  });

  it.each([
    ["with a space", "has space"],
    ["longer than 255 characters", "k".repeat(256)],
  ])("when the key is %s, then 400 and nothing is created", async (_case, key) => {
    const user = await api.signUp();
    const res = await postWithKey(user, "/v1/tasks", { title: "t" }, key);
    expectProblem(res, 400, "bad-request", ["/idempotency-key"]);
    expect(await taskCount(user)).toBe(0);
  });

  it("when different keys are used, then each creates its own task", async () => {
    const user = await api.signUp();
    await postWithKey(user, "/v1/tasks", { title: "t" }, "a").expect(201);
    await postWithKey(user, "/v1/tasks", { title: "t" }, "b").expect(201);
    expect(await taskCount(user)).toBe(2);
  });
});

describe("Idempotency-Key lifetime", () => {
  let now = new Date("2026-11-26T12:00:00Z");
  const api = useTaskApi({ clock: () => now });
  const { postWithKey } = taskApiFixtures(api);

  it("when a key is retried within 24 h, then the first response is replayed; after 24 h, the key is free again", async () => {
    const user = await api.signUp();
    const first = await postWithKey(user, "/v1/tasks", { title: "first" }, "k-1").expect(201);

    now = new Date(now.getTime() + 23 * 3600_000);
    const replay = await postWithKey(user, "/v1/tasks", { title: "first" }, "k-1").expect(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(first.body);
    await postWithKey(user, "/v1/tasks", { title: "other" }, "k-1").expect(422);

    now = new Date(now.getTime() + 2 * 3600_000);
    const fresh = await postWithKey(user, "/v1/tasks", { title: "other" }, "k-1").expect(201);
    expect(fresh.headers["idempotent-replayed"]).toBeUndefined();
    expect((fresh.body as { id: string }).id).not.toBe((first.body as { id: string }).id);
    expect(await api.prisma.task.count({ where: { userId: user.id } })).toBe(2);
    expect(await api.prisma.idempotencyKey.count({ where: { userId: user.id } })).toBe(1);
  });
});
