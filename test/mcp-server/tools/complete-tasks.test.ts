import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { call, ok, useAgent, textOf, type BatchResult, type Task } from "../harness.ts";

const { client } = useAgent("read-write");

describe("complete_tasks", () => {
  it("when an agent completes several tasks, then each is reported, a missing one with its hint", async () => {
    const ids = await Promise.all(
      ["one", "two", "three"].map(
        async (title) => (await ok<{ task: Task }>(client, "add_task", { title })).task.id,
      ),
    );

    const result = await call(client, "complete_tasks", {
      tasks: [...ids.map((id) => ({ id })), { id: randomUUID() }],
    });

    const batch = result.structuredContent as unknown as BatchResult;
    expect(batch).toMatchObject({ succeeded: 3, failed: 1 });
    expect(batch.items.slice(0, 3).every((i) => i.result?.completed === true)).toBe(true);
    expect(batch.items[3]?.error).toMatchObject({ code: "not-found" });
    expect(batch.items[3]?.error?.hint).toMatch(/list_tasks/);
    expect(textOf(result)).toMatch(/^Completed 3 of 4 item\(s\); items 3 failed/);
  });

  it("when all items succeed, then the summary says all of them", async () => {
    const { task } = await ok<{ task: Task }>(client, "add_task", { title: "solo" });
    const result = await call(client, "complete_tasks", { tasks: [{ id: task.id }] });
    expect(textOf(result)).toMatch(/^Completed all 1 item\(s\)\./);
  });
});
