import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * Subtasks: one level under a parent, in its parent's list, completed, reopened and deleted with
 * it. Every test signs up its own user.
 */

const api = useTaskApi();
const { createTask, readTask, createList, taskCount } = taskApiFixtures(api);

describe("subtasks", () => {
  it("when a subtask is created, then it lives in its parent's list", async () => {
    const user = await api.signUp();
    const listId = (await createList(user, "Trip")).id;
    const parent = await createTask(user, { title: "pack", listId });
    const sub = await createTask(user, { title: "socks", parentId: parent.id });
    expect(sub).toMatchObject({ parentId: parent.id, listId });
    expect((await createTask(user, { title: "shirts", parentId: parent.id, listId })).listId).toBe(listId);
  });

  it.each([
    ["another list than its parent's", "listOther"],
    ["no list while its parent has one", "listNull"],
  ])(
    "when a subtask is created in %s, then 422 naming /listId and nothing is created",
    async (_case, which) => {
      const user = await api.signUp();
      const listId = (await createList(user, "Trip")).id;
      const other = (await createList(user, "Other")).id;
      const parent = await createTask(user, { title: "pack", listId });
      const res = await api.as(user).post("/v1/tasks", {
        title: "socks",
        parentId: parent.id,
        listId: which === "listOther" ? other : null,
      });
      expectProblem(res, 422, "validation-failed", ["/listId"]);
      expect(await taskCount(user)).toBe(1);
    },
  );

  it("when a subtask of a subtask is created, then 422 naming /parentId (one level only)", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const sub = await createTask(user, { title: "s", parentId: parent.id });
    const res = await api.as(user).post("/v1/tasks", { title: "ss", parentId: sub.id });
    expectProblem(res, 422, "validation-failed", ["/parentId"]);
    expect(await taskCount(user)).toBe(2);
  });

  it("when the parentId names no task, then 422 naming /parentId", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "s", parentId: randomUUID() });
    expectProblem(res, 422, "validation-failed", ["/parentId"]);
    expect(await taskCount(user)).toBe(0);
  });

  it("when a task is made its own parent, or a parent is made a subtask, then 422 and nothing changes", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const sub = await createTask(user, { title: "s", parentId: parent.id });
    const other = await createTask(user, { title: "o" });
    expectProblem(
      await api.as(user).patch(`/v1/tasks/${other.id}`, { parentId: other.id }),
      422,
      "validation-failed",
      ["/parentId"],
    );
    expectProblem(
      await api.as(user).patch(`/v1/tasks/${parent.id}`, { parentId: other.id }),
      422,
      "validation-failed",
      ["/parentId"],
    );
    expect(await readTask(user, other.id)).toEqual(other);
    expect(await readTask(user, parent.id)).toEqual(parent);
    expect(await readTask(user, sub.id)).toEqual(sub);
  });

  it("when a task becomes a subtask, then it moves to its parent's list; when it leaves, then it keeps that list", async () => {
    const user = await api.signUp();
    const listId = (await createList(user, "Trip")).id;
    const parent = await createTask(user, { title: "p", listId });
    const loose = await createTask(user, { title: "loose" });
    const adopted = taskOf(
      await api.as(user).patch(`/v1/tasks/${loose.id}`, { parentId: parent.id }).expect(200),
    );
    expect(adopted).toMatchObject({ parentId: parent.id, listId });
    const freed = taskOf(await api.as(user).patch(`/v1/tasks/${loose.id}`, { parentId: null }).expect(200));
    expect(freed).toMatchObject({ parentId: null, listId });
  });

  it("when a parent moves to another list, then its subtasks move with it", async () => {
    const user = await api.signUp();
    const from = (await createList(user, "From")).id;
    const to = (await createList(user, "To")).id;
    const parent = await createTask(user, { title: "p", listId: from });
    const sub = await createTask(user, { title: "s", parentId: parent.id });
    await api.as(user).patch(`/v1/tasks/${parent.id}`, { listId: to }).expect(200);
    expect(await readTask(user, sub.id)).toMatchObject({ listId: to, version: 2 });
  });

  it("when a subtask alone is moved to another list, then 422 naming /listId and it stays in its parent's list", async () => {
    const user = await api.signUp();
    const listId = (await createList(user, "Trip")).id;
    const other = (await createList(user, "Other")).id;
    const parent = await createTask(user, { title: "p", listId });
    const sub = await createTask(user, { title: "s", parentId: parent.id });
    expectProblem(
      await api.as(user).patch(`/v1/tasks/${sub.id}`, { listId: other }),
      422,
      "validation-failed",
      ["/listId"],
    );
    expectProblem(
      await api.as(user).patch(`/v1/tasks/${sub.id}`, { listId: null }),
      422,
      "validation-failed",
      ["/listId"],
    );
    expect(await readTask(user, sub.id)).toEqual(sub);
    // Naming the list it is already in is fine.
    await api.as(user).patch(`/v1/tasks/${sub.id}`, { listId }).expect(200);
  });

  it("when a parent is completed, then its open subtasks complete with it and completed ones keep their completedAt", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const open = await createTask(user, { title: "open", parentId: parent.id });
    const done = await createTask(user, { title: "done", parentId: parent.id });
    const doneEarlier = taskOf(await api.as(user).post(`/v1/tasks/${done.id}/complete`).expect(200));
    const completedParent = taskOf(await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200));
    expect(await readTask(user, open.id)).toMatchObject({
      completed: true,
      completedAt: completedParent.completedAt,
      version: 2,
    });
    expect(await readTask(user, done.id)).toEqual(doneEarlier);
  });

  it("when a subtask of a completed parent is reopened, then the parent is reopened too (and its other subtasks stay completed)", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const a = await createTask(user, { title: "a", parentId: parent.id });
    const b = await createTask(user, { title: "b", parentId: parent.id });
    await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200);
    await api.as(user).post(`/v1/tasks/${a.id}/reopen`).expect(200);
    expect(await readTask(user, parent.id)).toMatchObject({
      completed: false,
      completedAt: null,
      version: 3,
    });
    expect(await readTask(user, b.id)).toMatchObject({ completed: true });
  });

  it("when an open subtask is created under a completed parent, then the parent is reopened", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200);
    await createTask(user, { title: "late addition", parentId: parent.id });
    expect(await readTask(user, parent.id)).toMatchObject({
      completed: false,
      completedAt: null,
      version: 3,
    });
  });

  it("when an open task is moved under a completed parent, then the parent is reopened; a completed one leaves it", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const done = await createTask(user, { title: "done" });
    const open = await createTask(user, { title: "open" });
    await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200);
    await api.as(user).post(`/v1/tasks/${done.id}/complete`).expect(200);
    await api.as(user).patch(`/v1/tasks/${done.id}`, { parentId: parent.id }).expect(200);
    expect(await readTask(user, parent.id)).toMatchObject({ completed: true });
    await api.as(user).patch(`/v1/tasks/${open.id}`, { parentId: parent.id }).expect(200);
    expect(await readTask(user, parent.id)).toMatchObject({ completed: false, completedAt: null });
  });

  it("when a parent is deleted, then its subtasks are deleted with it", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const sub = await createTask(user, { title: "s", parentId: parent.id, tags: ["t"] });
    const bystander = await createTask(user, { title: "other" });
    await api.as(user).delete(`/v1/tasks/${parent.id}`).expect(204);
    expectProblem(await api.as(user).get(`/v1/tasks/${sub.id}`), 404, "not-found");
    expect(await api.prisma.task.findMany({ where: { userId: user.id }, select: { id: true } })).toEqual([
      { id: bystander.id },
    ]);
  });

  it("when a subtask is deleted, then its parent stays", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "p" });
    const sub = await createTask(user, { title: "s", parentId: parent.id });
    await api.as(user).delete(`/v1/tasks/${sub.id}`).expect(204);
    expect(await readTask(user, parent.id)).toEqual(parent);
  });
});
