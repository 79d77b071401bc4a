import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * POST /v1/tasks: what a new task is made of, what is refused, and its list. Every test signs up
 * its own user.
 */

const api = useTaskApi();
const { createTask, readTask, createList, taskCount } = taskApiFixtures(api);

describe("POST /v1/tasks", () => {
  it("when a user creates a task with only a title, then 201 with Location, ETag and the defaults", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "Buy milk" }).expect(201);
    const created = taskOf(res);
    expect(res.headers.location).toBe(`/v1/tasks/${created.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      listId: null,
      parentId: null,
      title: "Buy milk",
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
      createdAt: expect.any(String) as unknown,
      updatedAt: expect.any(String) as unknown,
      version: 1,
    });
    expect(await readTask(user, created.id)).toEqual(created);
  });

  it("when a user creates a task with every field, then each is stored and returned", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const listId = (await createList(user, "Home")).id;
    const created = await createTask(user, {
      title: "Water the plants",
      description: "The *big* ones",
      priority: "high",
      tags: ["home", "Garden"],
      listId,
      dueAt: "2026-12-01T09:00:00+02:00",
      remindAt: "2026-12-01T06:30:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TU",
    });
    expect(created).toMatchObject({
      title: "Water the plants",
      description: "The *big* ones",
      priority: "high",
      tags: ["Garden", "home"],
      listId,
      dueAt: "2026-12-01T07:00:00.000Z",
      allDay: false,
      dueDate: "2026-12-01",
      remindAt: "2026-12-01T06:30:00.000Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TU",
      completed: false,
    });
    expect(await readTask(user, created.id)).toEqual(created);
  });

  it("when the title has surrounding spaces, then it is trimmed and 200 characters after trimming are accepted", async () => {
    const user = await api.signUp();
    expect((await createTask(user, { title: "  Call mum \n" })).title).toBe("Call mum");
    const long = "x".repeat(200);
    expect((await createTask(user, { title: `   ${long}   ` })).title).toBe(long);
  });

  it.each([
    ["blank", { title: "   " }, ["/title"]],
    ["missing", { description: "no title" }, ["/title"]],
    ["201 characters", { title: "x".repeat(201) }, ["/title"]],
    ["a number", { title: 42 }, ["/title"]],
    ["null", { title: null }, ["/title"]],
    ["holding a NUL character", { title: "a\u0000b" }, ["/title"]],
  ])("when the title is %s, then 422 naming /title and nothing is created", async (_case, body, pointers) => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", body);
    expectProblem(res, 422, "validation-failed", pointers);
    expect(await taskCount(user)).toBe(0);
  });

  it("when the description is 10,000 characters, then it is stored; at 10,001, then 422 naming /description", async () => {
    const user = await api.signUp();
    expect(
      (await createTask(user, { title: "t", description: "d".repeat(10_000) })).description,
    ).toHaveLength(10_000);
    const res = await api.as(user).post("/v1/tasks", { title: "t", description: "d".repeat(10_001) });
    expectProblem(res, 422, "validation-failed", ["/description"]);
    expect(await taskCount(user)).toBe(1);
  });

  it("when several fields are invalid, then 422 names each of them by JSON pointer", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", {
      title: "",
      priority: "critical",
      tags: ["ok", "a,b"],
      dueAt: "tomorrow",
      remindAt: "2026-12-01",
      allDay: "yes",
      listId: "nope",
    });
    const problem = expectProblem(res, 422, "validation-failed", [
      "/title",
      "/priority",
      "/tags/1",
      "/dueAt",
      "/remindAt",
      "/allDay",
      "/listId",
    ]);
    expect(problem.errors?.every((e) => e.in === "body")).toBe(true);
    expect(await taskCount(user)).toBe(0);
  });

  it.each(["none", "low", "medium", "high", "urgent"])(
    "when the priority is %s, then it is stored",
    async (priority) => {
      const user = await api.signUp();
      expect((await createTask(user, { title: "t", priority })).priority).toBe(priority);
    },
  );

  it("when a client sets fields it may not (owner, id, timestamps, version, completion), then 422 names each and nothing is stored", async () => {
    const user = await api.signUp();
    const other = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", {
      title: "sneaky",
      userId: other.id,
      owner: other.id,
      id: randomUUID(),
      createdAt: "2020-01-01T00:00:00Z",
      updatedAt: "2020-01-01T00:00:00Z",
      version: 7,
      completedAt: "2020-01-01T00:00:00Z",
      completed: true,
    });
    expectProblem(res, 422, "validation-failed", [
      "/userId",
      "/owner",
      "/id",
      "/createdAt",
      "/updatedAt",
      "/version",
      "/completedAt",
      "/completed",
    ]);
    expect(await taskCount(user)).toBe(0);
    expect(await taskCount(other)).toBe(0);
  });

  it("when the body is malformed JSON, then 400 malformed-json and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/tasks", '{"title": "x",', { "Content-Type": "application/json" });
    expectProblem(res, 400, "malformed-json");
    expect(await taskCount(user)).toBe(0);
  });

  it("when the body is JSON but not an object, then it is refused and nothing is created", async () => {
    const user = await api.signUp();
    const array = await api.as(user).post("/v1/tasks", "[]", { "Content-Type": "application/json" });
    expectProblem(array, 422, "validation-failed", [""]);
    const bare = await api.as(user).post("/v1/tasks", '"title"', { "Content-Type": "application/json" });
    expectProblem(bare, 400, "malformed-json");
    const none = await api.as(user).post("/v1/tasks");
    expectProblem(none, 422, "validation-failed");
    expect(await taskCount(user)).toBe(0);
  });

  it("when the body is over 64 KiB, then 413 and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "big", description: "d".repeat(70_000) });
    expectProblem(res, 413, "payload-too-large");
    expect(await taskCount(user)).toBe(0);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/xml"])(
    "when the body is sent as %s, then 415 and nothing is created",
    async (contentType) => {
      const user = await api.signUp();
      const res = await api.as(user).post("/v1/tasks", "title=x", { "Content-Type": contentType });
      expectProblem(res, 415, "unsupported-media-type");
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when the request has no credentials, then 401 and nothing is created", async () => {
    const res = await api.request.post("/v1/tasks").send({ title: "anonymous" });
    expectProblem(res, 401, "unauthenticated");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
  });
});

describe("lists", () => {
  it("when the listId is one of the user's lists, then the task is in it", async () => {
    const user = await api.signUp();
    const listId = (await createList(user, "Work")).id;
    expect((await createTask(user, { title: "t", listId })).listId).toBe(listId);
  });

  it("when the listId names no list, then 422 naming /listId and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "t", listId: randomUUID() });
    expectProblem(res, 422, "validation-failed", ["/listId"]);
    expect(await taskCount(user)).toBe(0);
  });
});
