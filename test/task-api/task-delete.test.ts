import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * DELETE /v1/tasks/:id, with and without If-Match. Every test signs up its own user.
 */

const api = useTaskApi();
const { createTask, readTask, taskCount } = taskApiFixtures(api);

describe("DELETE /v1/tasks/:id", () => {
  it("when a user deletes a task, then 204 and it is gone", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", tags: ["x"] });
    const res = await api.as(user).delete(`/v1/tasks/${created.id}`).expect(204);
    expect(res.text).toBe("");
    expectProblem(await api.as(user).get(`/v1/tasks/${created.id}`), 404, "not-found");
    expect(await taskCount(user)).toBe(0);
  });

  it("when If-Match is current, then the task is deleted; when stale, then 412 and it stays", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).patch(`/v1/tasks/${created.id}`, { title: "v2" }).expect(200);
    const before = await readTask(user, created.id);
    expectProblem(
      await api.as(user).delete(`/v1/tasks/${created.id}`, { "If-Match": '"1"' }),
      412,
      "precondition-failed",
    );
    expect(await readTask(user, created.id)).toEqual(before);
    await api.as(user).delete(`/v1/tasks/${created.id}`, { "If-Match": '"2"' }).expect(204);
    expect(await taskCount(user)).toBe(0);
  });

  it("when a task is deleted twice, then the second answer is 404", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t" });
    await api.as(user).delete(`/v1/tasks/${created.id}`).expect(204);
    expectProblem(await api.as(user).delete(`/v1/tasks/${created.id}`), 404, "not-found");
  });
});
