import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { failed, ok, useAgent, type Task } from "../harness.ts";

const { client } = useAgent("read-write");

describe("reopen_task", () => {
  it("when an agent reopens a completed task, then it is open again", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "again" });
    const { task: done } = await ok<{ task: Task }>(client, "complete_task", { id: task.id });
    const { task: reopened } = await ok<{ task: Task }>(client, "reopen_task", {
      id: task.id,
      expectedVersion: done.version,
    });
    expect(reopened).toMatchObject({ id: task.id, completed: false });
  });

  it("when the task does not exist, then isError not-found", async () => {
    expect(await failed(client, "reopen_task", { id: randomUUID() })).toMatch(/not-found/);
  });
});
