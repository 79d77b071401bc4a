import { describe, expect, it } from "vitest";
import { failed, ok, useAgent, type Task } from "../harness.ts";

const { h, user, client } = useAgent("read-write");

describe("delete_task", () => {
  it("when an agent deletes a task, then it is gone and a second delete is not-found", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "doomed" });

    expect(await ok(client, "delete_task", { id: task.id, expectedVersion: task.version })).toEqual({
      deleted: true,
      id: task.id,
    });

    await h.api.request.get(`/v1/tasks/${task.id}`).set(user.auth).expect(404);
    expect(await failed(client, "delete_task", { id: task.id })).toMatch(/not-found/);
  });

  it("when the version is stale, then nothing is deleted and isError precondition-failed", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "kept" });
    await ok(client, "update_task", { id: task.id, changes: { title: "kept, changed" } });

    expect(await failed(client, "delete_task", { id: task.id, expectedVersion: task.version })).toMatch(
      /precondition-failed/,
    );
    await h.api.request.get(`/v1/tasks/${task.id}`).set(user.auth).expect(200);
  });
});
