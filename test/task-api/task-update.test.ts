import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * PATCH /v1/tasks/:id (merge patch, versions, If-Match) and complete and reopen. Every test signs
 * up its own user.
 */

const api = useTaskApi();
const { createTask, readTask } = taskApiFixtures(api);

describe("PATCH /v1/tasks/:id", () => {
  it("when a merge patch names some fields, then those change, absent ones stay, null clears, and the version bumps", async () => {
    const user = await api.signUp();
    const created = await createTask(user, {
      title: "t",
      description: "d",
      priority: "low",
      dueAt: "2026-12-01T10:00:00Z",
      tags: ["x"],
    });
    const res = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, { priority: "urgent", description: null })
      .expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(taskOf(res)).toEqual({
      ...created,
      priority: "urgent",
      description: null,
      version: 2,
      updatedAt: expect.any(String) as unknown,
    });
    expect(Date.parse(taskOf(res).updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(await readTask(user, created.id)).toEqual(taskOf(res));
  });

  it("when the patch is sent as application/merge-patch+json, then it is applied", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const res = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, JSON.stringify({ title: "renamed" }), {
        "Content-Type": "application/merge-patch+json",
      })
      .expect(200);
    expect(taskOf(res).title).toBe("renamed");
  });

  it("when every patch changes something, then every one bumps the version by one", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const changes = [
      { title: "a" },
      { description: "b" },
      { priority: "medium" },
      { tags: ["c"] },
      { dueAt: "2026-12-01" },
      { remindAt: "2026-11-30T08:00:00Z" },
      { recurrence: "FREQ=DAILY" },
    ];
    for (const [i, change] of changes.entries()) {
      const res = await api.as(user).patch(`/v1/tasks/${created.id}`, change).expect(200);
      expect(taskOf(res).version).toBe(i + 2);
      expect(res.headers.etag).toBe(`"${i + 2}"`);
    }
  });

  it("when the patch is empty, then the task and its version stay as they were", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const res = await api.as(user).patch(`/v1/tasks/${created.id}`, {}).expect(200);
    expect(taskOf(res)).toEqual(created);
  });

  it("when If-Match names the current version (or *), then the patch applies", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v2" }, { "If-Match": '"1"' }).expect(200);
    const res = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, { title: "v3" }, { "If-Match": "*" })
      .expect(200);
    expect(taskOf(res)).toMatchObject({ title: "v3", version: 3 });
  });

  it.each([
    ["a stale version", '"1"'],
    ["a future version", '"9"'],
    ["a weak tag", 'W/"2"'],
    ["something that is not an ETag", "v2"],
  ])("when If-Match names %s, then 412 and the task is unchanged", async (_case, ifMatch) => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v2" }).expect(200);
    const before = await readTask(user, created.id);
    const res = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, { title: "lost update" }, { "If-Match": ifMatch });
    expectProblem(res, 412, "precondition-failed");
    expect(await readTask(user, created.id)).toEqual(before);
  });

  it("when If-Match is stale, then the problem tells the current version", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v2" }).expect(200);
    const res = await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v3" }, { "If-Match": '"1"' });
    expect(expectProblem(res, 412, "precondition-failed").currentVersion).toBe(2);
  });

  it.each([
    ["an unknown field", { colour: "red" }, ["/colour"]],
    ["the owner", { userId: "someone-else" }, ["/userId"]],
    ["the id", { id: randomUUID() }, ["/id"]],
    ["the version", { version: 99 }, ["/version"]],
    [
      "createdAt and updatedAt",
      { createdAt: "2020-01-01T00:00:00Z", updatedAt: "2020-01-01T00:00:00Z" },
      ["/createdAt", "/updatedAt"],
    ],
    ["completedAt", { completedAt: "2020-01-01T00:00:00Z" }, ["/completedAt"]],
    ["a blank title", { title: " " }, ["/title"]],
    ["a null title", { title: null }, ["/title"]],
    ["a wrong type", { priority: 3, tags: "a" }, ["/priority", "/tags"]],
    ["a NUL in the description", { description: "a\u0000" }, ["/description"]],
    ["allDay without a dueAt", { allDay: true }, ["/allDay"]],
    ["a listId that names no list", { listId: randomUUID() }, ["/listId"]],
  ])(
    "when the patch sets %s, then 422 naming it and the task is unchanged",
    async (_case, body, pointers) => {
      const user = await api.signUp();
      const created = await createTask(user, { title: "t", description: "d", tags: ["x"] });
      const res = await api.as(user).patch(`/v1/tasks/${created.id}`, body);
      expectProblem(res, 422, "validation-failed", pointers);
      expect(await readTask(user, created.id)).toEqual(created);
    },
  );

  it("when the patch is malformed, too large or not JSON, then 400, 413 or 415 and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const url = `/v1/tasks/${created.id}`;
    expectProblem(
      await api.as(user).patch(url, "{title:", { "Content-Type": "application/json" }),
      400,
      "malformed-json",
    );
    expectProblem(
      await api.as(user).patch(url, { description: "d".repeat(70_000) }),
      413,
      "payload-too-large",
    );
    expectProblem(
      await api.as(user).patch(url, "title=x", { "Content-Type": "text/plain" }),
      415,
      "unsupported-media-type",
    );
    expect(await readTask(user, created.id)).toEqual(created);
  });
});

describe("complete and reopen", () => {
  it("when a user completes a task, then completed and completedAt are set, the version bumps and the ETag follows", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const res = await api.as(user).post(`/v1/tasks/${created.id}/complete`).expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(taskOf(res)).toMatchObject({
      completed: true,
      completedAt: expect.any(String) as unknown,
      version: 2,
    });
    expect(await readTask(user, created.id)).toEqual(taskOf(res));
  });

  it("when a completed task is completed again, then nothing changes", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    const first = taskOf(await api.as(user).post(`/v1/tasks/${created.id}/complete`).expect(200));
    const second = taskOf(await api.as(user).post(`/v1/tasks/${created.id}/complete`).expect(200));
    expect(second).toEqual(first);
  });

  it("when a user reopens a completed task, then completed is false, completedAt is cleared and the version bumps", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).post(`/v1/tasks/${created.id}/complete`).expect(200);
    const res = await api.as(user).post(`/v1/tasks/${created.id}/reopen`).expect(200);
    expect(res.headers.etag).toBe('"3"');
    expect(taskOf(res)).toMatchObject({ completed: false, completedAt: null, version: 3 });
  });

  it("when an open task is reopened, then nothing changes", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    expect(taskOf(await api.as(user).post(`/v1/tasks/${created.id}/reopen`).expect(200))).toEqual(created);
  });

  it("when If-Match is stale on complete or reopen, then 412 and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v2" }).expect(200);
    const before = await readTask(user, created.id);
    expectProblem(
      await api.as(user).post(`/v1/tasks/${created.id}/complete`, undefined, { "If-Match": '"1"' }),
      412,
      "precondition-failed",
    );
    expect(await readTask(user, created.id)).toEqual(before);
    await api.as(user).post(`/v1/tasks/${created.id}/complete`, undefined, { "If-Match": '"2"' }).expect(200);
    const completed = await readTask(user, created.id);
    expectProblem(
      await api.as(user).post(`/v1/tasks/${created.id}/reopen`, undefined, { "If-Match": '"2"' }),
      412,
      "precondition-failed",
    );
    expect(await readTask(user, created.id)).toEqual(completed);
  });
});
