import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { failed, ok, useAgent, type Task } from "../harness.ts";

const { client } = useAgent("oauth");

async function newTask(fields: Record<string, unknown> = {}): Promise<Task> {
  return (await ok<{ task: Task }>(client, "add_task", { title: "to change", ...fields })).task;
}

describe("update_task", () => {
  it("when an agent changes fields, then only those change, null clears, and the version goes up", async () => {
    const task = await newTask({ description: "old", priority: "low", tags: ["a"] });

    const { task: updated } = await ok<{ task: Task }>(client, "update_task", {
      id: task.id,
      expectedVersion: task.version,
      changes: { title: "changed", description: null, dueAt: "2030-03-03" },
    });

    expect(updated).toMatchObject({
      id: task.id,
      title: "changed",
      description: null,
      priority: "low",
      tags: ["a"],
      allDay: true,
      dueDate: "2030-03-03",
      version: task.version + 1,
    });
  });

  it("when the version sent is stale, then isError precondition-failed says to read it again", async () => {
    const task = await newTask();
    await ok(client, "update_task", { id: task.id, changes: { priority: "high" } });

    const text = await failed(client, "update_task", {
      id: task.id,
      expectedVersion: task.version,
      changes: { priority: "urgent" },
    });
    expect(text).toMatch(/^Error \(precondition-failed\)/);
    expect(text).toMatch(/How to fix: .*get_task.*current version/);
  });

  it("when changes name no field, then isError validation-failed without calling task-api", async () => {
    const task = await newTask();
    const text = await failed(client, "update_task", { id: task.id, changes: {} });
    expect(text).toMatch(/validation-failed[\s\S]*\/changes: give at least one field/);
  });

  it("when changes name a field tasks do not have, then isError naming it and the known fields, and nothing changes", async () => {
    const task = await newTask();
    const text = await failed(client, "update_task", { id: task.id, changes: { titel: "typo" } });
    expect(text).toMatch(/Input validation error/);
    expect(text).toContain(
      'Unknown field "titel" (known fields: title, description, priority, tags, listId, parentId, dueAt, allDay, recurrence, remindAt) at changes',
    );
    expect((await ok<{ task: Task }>(client, "get_task", { id: task.id })).task.version).toBe(task.version);
  });

  it("when the task does not exist, then isError not-found", async () => {
    expect(await failed(client, "update_task", { id: randomUUID(), changes: { title: "x" } })).toMatch(
      /not-found/,
    );
  });
});
