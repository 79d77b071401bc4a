import { randomUUID } from "node:crypto";
import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

/**
 * GET /v1/tasks/:id with ETags, and every task route given an id that names no task of the user.
 * Every test signs up its own user.
 */

const api = useTaskApi();
const { createTask, readTask, taskCount } = taskApiFixtures(api);

describe("GET /v1/tasks/:id", () => {
  it("when the client sends the current ETag in If-None-Match, then 304 with the ETag and no body", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const res = await api.as(user).get(`/v1/tasks/${created.id}`, { "If-None-Match": '"1"' }).expect(304);
    expect(res.headers.etag).toBe('"1"');
    expect(res.text).toBe("");
  });

  it("when the client's ETag is stale, then 200 with the current task and ETag", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "t2" }).expect(200);
    const res = await api.as(user).get(`/v1/tasks/${created.id}`, { "If-None-Match": '"1"' }).expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(taskOf(res).title).toBe("t2");
  });

  it("when the id is given in upper case, then it names the same task", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    expect(await readTask(user, created.id.toUpperCase())).toEqual(created);
  });
});

describe("unknown ids", () => {
  const routes: [string, (id: string, user: TestUser) => Promise<Response>][] = [
    ["GET", (id, user) => api.as(user).get(`/v1/tasks/${id}`).then()],
    ["PATCH", (id, user) => api.as(user).patch(`/v1/tasks/${id}`, { title: "x" }).then()],
    ["DELETE", (id, user) => api.as(user).delete(`/v1/tasks/${id}`).then()],
    ["POST complete", (id, user) => api.as(user).post(`/v1/tasks/${id}/complete`).then()],
    ["POST reopen", (id, user) => api.as(user).post(`/v1/tasks/${id}/reopen`).then()],
  ];
  for (const [route, call] of routes) {
    it.each([
      ["a random UUID", randomUUID()],
      ["not a UUID", "not-a-uuid"],
      ["a number", "123"],
      ["a UUID with trailing junk", `${randomUUID()}x`],
    ])(`when ${route} names %s, then 404 not-found and nothing changes`, async (_case, id) => {
      const user = await api.signUp();
      const existing = await createTask(user, { title: "keep me" });
      const res = await call(id, user);
      const problem = expectProblem(res, 404, "not-found");
      expect(problem.detail).toBe("Task was not found.");
      expect(await readTask(user, existing.id)).toEqual(existing);
      expect(await taskCount(user)).toBe(1);
    });
  }
});
