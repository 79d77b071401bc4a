import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { call, failed, ok, useAgent, textOf, type Task } from "../harness.ts";

const { client } = useAgent("read-write");

describe("complete_task", () => {
  it("when an agent completes a task, then it is completed and the summary says so", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "finish me" });
    const result = await call(client, "complete_task", { id: task.id, expectedVersion: task.version });
    expect(result.isError ?? false).toBe(false);
    expect((result.structuredContent as { task: Task }).task.completed).toBe(true);
    expect(textOf(result)).toMatch(new RegExp(`^Completed task ${task.id} \\(completed, version 2\\)`));
  });

  it("when the task is missing or the version is stale, then isError with the fix", async () => {
    expect(await failed(client, "complete_task", { id: randomUUID() })).toMatch(/not-found/);
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "stale" });
    await ok(client, "update_task", { id: task.id, changes: { title: "moved on" } });
    expect(await failed(client, "complete_task", { id: task.id, expectedVersion: task.version })).toMatch(
      /precondition-failed/,
    );
  });
});
