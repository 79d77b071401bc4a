import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, useTaskApi } from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

const api = useTaskApi();
const { createTask, readTask } = taskApiFixtures(api);

function expectValidationFailed(res: Response, pointers: string[]): void {
  expectProblem(res, 422, "validation-failed");
  expect(res.body).toMatchObject({ instance: "/v1/me" });
  const errors = (res.body as { errors: { pointer: string; in: string }[] }).errors;
  expect(errors.map((e) => e.pointer).sort()).toEqual([...pointers].sort());
  for (const error of errors) expect(error.in).toBe("body");
}

describe("GET /v1/me", () => {
  it("when a user reads /v1/me, then the profile is theirs and carries no secrets", async () => {
    const user = await api.signUp({ name: "Grace", timeZone: "Asia/Tokyo" });

    const res = await api.as(user).get("/v1/me").expect(200);

    expect(res.body).toEqual({
      id: user.id,
      name: "Grace",
      email: user.email,
      emailVerified: false,
      image: null,
      timeZone: "Asia/Tokyo",
      createdAt: expect.stringMatching(/Z$/) as unknown,
      updatedAt: expect.stringMatching(/Z$/) as unknown,
    });
  });

  it("when two users read /v1/me, then each sees their own profile", async () => {
    const a = await api.signUp({ name: "A" });
    const b = await api.signUp({ name: "B" });

    const [ra, rb] = await Promise.all([api.as(a).get("/v1/me"), api.as(b).get("/v1/me")]);

    expect(ra.body).toMatchObject({ id: a.id, name: "A" });
    expect(rb.body).toMatchObject({ id: b.id, name: "B" });
  });
});

describe("PATCH /v1/me", () => {
  it("when a user changes their name, then it is trimmed, returned and kept", async () => {
    const user = await api.signUp({ name: "Old" });

    const res = await api.as(user).patch("/v1/me", { name: "  New Name  " }).expect(200);

    expect(res.body).toMatchObject({ id: user.id, name: "New Name" });
    expect((await api.as(user).get("/v1/me").expect(200)).body).toMatchObject({
      name: "New Name",
    });
  });

  it("when a user changes their time zone in another case, then the canonical name is stored", async () => {
    const user = await api.signUp();

    const res = await api.as(user).patch("/v1/me", { timeZone: "america/new_york" }).expect(200);

    expect(res.body).toMatchObject({ timeZone: "America/New_York" });
    expect(
      await api.prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { timeZone: true } }),
    ).toEqual({ timeZone: "America/New_York" });
  });

  it("when the time zone is not an IANA zone, then 422 pointing at /timeZone and nothing changes", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });

    const res = await api.as(user).patch("/v1/me", { timeZone: "Europe/Atlantis", name: "Changed" });

    expectValidationFailed(res, ["/timeZone"]);
    expect((await api.as(user).get("/v1/me").expect(200)).body).toMatchObject({
      timeZone: "Europe/Berlin",
      name: "Test User",
    });
  });

  it("when the body has fields that cannot be changed here, then 422 names each one", async () => {
    const user = await api.signUp();

    const res = await api.as(user).patch("/v1/me", { email: "new@example.com", emailVerified: true });

    expectValidationFailed(res, ["/email", "/emailVerified"]);
    expect((await api.as(user).get("/v1/me").expect(200)).body).toMatchObject({
      email: user.email,
      emailVerified: false,
    });
  });

  it("when the name is blank or the time zone not a string, then 422 names both fields", async () => {
    const user = await api.signUp();

    const res = await api.as(user).patch("/v1/me", { name: "   ", timeZone: 5 });

    expectValidationFailed(res, ["/name", "/timeZone"]);
  });

  it("when the name contains a NUL character, then 422 (not a database error)", async () => {
    const user = await api.signUp();

    const res = await api.as(user).patch("/v1/me", { name: "nul\u0000name" });

    expectValidationFailed(res, ["/name"]);
  });

  it("when the body is an array, then 422", async () => {
    const user = await api.signUp();

    const res = await api.as(user).patch("/v1/me", [{ name: "x" }]);

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ type: "https://taskmesh.dev/problems/validation-failed" });
  });

  it("when the time zone changes, then all-day tasks stay on their calendar date and are re-anchored to the new zone", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const winter = await createTask(user, { title: "winter", dueAt: "2026-12-01" });
    const summer = await createTask(user, { title: "summer", dueAt: "2026-07-01" });
    expect(winter.dueAt).toBe("2026-11-30T23:00:00.000Z");
    expect(summer.dueAt).toBe("2026-06-30T22:00:00.000Z");

    await api.as(user).patch("/v1/me", { timeZone: "America/New_York" }).expect(200);

    const winterAfter = await readTask(user, winter.id);
    const summerAfter = await readTask(user, summer.id);
    expect(winterAfter).toMatchObject({
      allDay: true,
      dueDate: "2026-12-01",
      dueAt: "2026-12-01T05:00:00.000Z",
    });
    expect(summerAfter).toMatchObject({
      allDay: true,
      dueDate: "2026-07-01",
      dueAt: "2026-07-01T04:00:00.000Z",
    });
    expect(winterAfter.version).toBe(winter.version + 1);
  });

  it("when the time zone changes, then tasks due at an instant keep that instant", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const timed = await createTask(user, { title: "call", dueAt: "2026-12-01T09:30:00Z" });

    await api.as(user).patch("/v1/me", { timeZone: "Pacific/Auckland" }).expect(200);

    const after = await readTask(user, timed.id);
    expect(after).toMatchObject({ allDay: false, dueAt: "2026-12-01T09:30:00.000Z", dueDate: "2026-12-01" });
    expect(after.version).toBe(timed.version);
  });

  it("when one user changes time zone, then another user's all-day tasks do not move", async () => {
    const mover = await api.signUp({ timeZone: "Europe/Berlin" });
    const stayer = await api.signUp({ timeZone: "Europe/Berlin" });
    const theirs = await createTask(stayer, { title: "theirs", dueAt: "2026-12-01" });

    await api.as(mover).patch("/v1/me", { timeZone: "America/New_York" }).expect(200);

    expect(await readTask(stayer, theirs.id)).toMatchObject({
      dueDate: "2026-12-01",
      dueAt: theirs.dueAt,
      version: theirs.version,
    });
  });

  it("when the time zone is set to the zone it already is, then all-day tasks are not touched", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const task = await createTask(user, { title: "same", dueAt: "2026-12-01" });

    await api.as(user).patch("/v1/me", { timeZone: "Europe/Berlin" }).expect(200);

    expect(await readTask(user, task.id)).toMatchObject({ dueAt: task.dueAt, version: task.version });
  });
});

describe("DELETE /v1/me", () => {
  async function countOwned(userId: string) {
    const [users, sessions, accounts, lists, tasks, tags, taskTags, idempotencyKeys] = await Promise.all([
      api.prisma.user.count({ where: { id: userId } }),
      api.prisma.session.count({ where: { userId } }),
      api.prisma.account.count({ where: { userId } }),
      api.prisma.taskList.count({ where: { userId } }),
      api.prisma.task.count({ where: { userId } }),
      api.prisma.tag.count({ where: { userId } }),
      api.prisma.taskTag.count({ where: { userId } }),
      api.prisma.idempotencyKey.count({ where: { userId } }),
    ]);
    return { users, sessions, accounts, lists, tasks, tags, taskTags, idempotencyKeys };
  }

  async function seed(user: TestUser): Promise<void> {
    const list = await api
      .as(user)
      .post("/v1/lists", { name: "Home" }, { "Idempotency-Key": `list-${user.id}` })
      .expect(201);
    const listId = (list.body as { id: string }).id;
    const parent = await createTask(user, {
      title: "parent",
      listId,
      tags: ["errand", "home"],
      dueAt: "2026-12-01",
    });
    await createTask(user, { title: "child", parentId: parent.id, tags: ["errand"] });
    await api
      .as(user)
      .post("/v1/tasks", { title: "loose" }, { "Idempotency-Key": `task-${user.id}` })
      .expect(201);
  }

  it("when a user deletes their account, then 204 and every row they owned is gone", async () => {
    const user = await api.signUp();
    await seed(user);
    expect(await countOwned(user.id)).toEqual({
      users: 1,
      sessions: 1,
      accounts: 1,
      lists: 1,
      tasks: 3,
      tags: 2,
      taskTags: 3,
      idempotencyKeys: 2,
    });

    await api.as(user).delete("/v1/me").expect(204);

    expect(await countOwned(user.id)).toEqual({
      users: 0,
      sessions: 0,
      accounts: 0,
      lists: 0,
      tasks: 0,
      tags: 0,
      taskTags: 0,
      idempotencyKeys: 0,
    });
  });

  it("when a user deletes their account, then another user's data is untouched", async () => {
    const leaving = await api.signUp();
    const staying = await api.signUp();
    await seed(leaving);
    await seed(staying);
    const before = await countOwned(staying.id);

    await api.as(leaving).delete("/v1/me").expect(204);

    expect(await countOwned(staying.id)).toEqual(before);
    await api.as(staying).get("/v1/me").expect(200);
  });

  it("when an account is deleted, then its session token answers 401 invalid_token", async () => {
    const user = await api.signUp();

    await api.request
      .delete("/v1/me")
      .set({ Authorization: `Bearer ${user.sessionToken}` })
      .expect(204);

    const res = await api.request.get("/v1/lists").set({ Authorization: `Bearer ${user.sessionToken}` });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toContain('error="invalid_token"');
  });

  it("when an account is deleted, then its still-unexpired access token gets 401 from /v1/me", async () => {
    const user = await api.signUp();

    await api.as(user).delete("/v1/me").expect(204);

    for (const call of [
      api.as(user).get("/v1/me"),
      api.as(user).patch("/v1/me", { name: "ghost" }),
      api.as(user).delete("/v1/me"),
    ]) {
      const res = await call;
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toContain('error="invalid_token"');
      expect(res.body).toMatchObject({ type: "https://taskmesh.dev/problems/unauthenticated" });
    }
  });

  it("when an account is deleted, then its access token cannot create anything (401, not a server error)", async () => {
    const user = await api.signUp();

    await api.as(user).delete("/v1/me").expect(204);

    const list = await api.as(user).post("/v1/lists", { name: "ghost list" });
    const task = await api
      .as(user)
      .post("/v1/tasks", { title: "ghost task" }, { "Idempotency-Key": "ghost" });
    expect([list.status, task.status]).toEqual([401, 401]);
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
  });
});
