import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ok, useAgent, type BatchResult, type Task } from "../harness.ts";

const { client } = useAgent("read-write");

describe("update_tasks", () => {
  it("when an agent changes several tasks, then each item reports its task or why it failed", async () => {
    const a = (await ok<{ task: Task }>(client, "add_task", { title: "a" })).task;
    const b = (await ok<{ task: Task }>(client, "add_task", { title: "b" })).task;

    const batch = await ok<BatchResult>(client, "update_tasks", {
      updates: [
        { id: a.id, changes: { priority: "urgent" } },
        { id: randomUUID(), changes: { priority: "urgent" } },
        { id: b.id, changes: {} },
        { id: b.id, expectedVersion: b.version, changes: { tags: ["x"] } },
      ],
    });

    expect(batch).toMatchObject({ succeeded: 2, failed: 2 });
    expect(batch.items[0]?.result).toMatchObject({ id: a.id, priority: "urgent" });
    expect(batch.items[1]?.error?.code).toBe("not-found");
    expect(batch.items[2]?.error?.code).toBe("validation-failed");
    expect(batch.items[3]?.result).toMatchObject({ id: b.id, tags: ["x"] });
  });
});
