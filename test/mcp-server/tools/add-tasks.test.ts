import { describe, expect, it } from "vitest";
import { call, ok, useAgent, textOf, type BatchResult } from "../harness.ts";

const { client } = useAgent("read-write");

describe("add_tasks", () => {
  it("when some items are invalid, then the others are created and every item is reported by index", async () => {
    const result = await call(client, "add_tasks", {
      tasks: [
        { title: "one" },
        { title: "two", dueAt: "2030-02-30" },
        { title: "three", dueAt: "2030-04-01" },
      ],
    });

    expect(result.isError ?? false).toBe(false);
    const batch = result.structuredContent as unknown as BatchResult;
    expect(batch).toMatchObject({ succeeded: 2, failed: 1 });
    expect(batch.items.map((i) => [i.index, i.ok])).toEqual([
      [0, true],
      [1, false],
      [2, true],
    ]);
    expect(batch.items[1]?.error).toMatchObject({ code: "validation-failed" });
    expect(batch.items[1]?.error?.message).toMatch(/dueAt/);
    expect(batch.items[2]?.result).toMatchObject({ title: "three", allDay: true });
    expect(textOf(result)).toMatch(/^Created 2 of 3 item\(s\); items 1 failed/);
  });

  it("when the agent retries a batch with the same idempotencyKey, then no task is created twice", async () => {
    const tasks = [{ title: "a" }, { title: "b" }];
    const first = await ok<BatchResult>(client, "add_tasks", { tasks, idempotencyKey: "batch-1" });
    const again = await ok<BatchResult>(client, "add_tasks", { tasks, idempotencyKey: "batch-1" });
    expect(again.items.map((i) => i.result?.id)).toEqual(first.items.map((i) => i.result?.id));
  });

  it("when every item fails, then the call as a whole is isError", async () => {
    const result = await call(client, "add_tasks", { tasks: [{ title: "x", dueAt: "nope" }] });
    expect(result.isError).toBe(true);
    expect((result.structuredContent as unknown as BatchResult).failed).toBe(1);
  });

  it("when an item has a field tasks do not have, then isError naming it at its index and nothing is created", async () => {
    const result = await call(client, "add_tasks", {
      tasks: [{ title: "fine" }, { title: "x", due: "2031-01-01" }],
    });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/Input validation error/);
    expect(text).toContain('Unknown field "due" (known fields: title, description, priority,');
    expect(text).toMatch(/\) at tasks\[1\]/);
    const listed = await ok<{ tasks: { title: string }[] }>(client, "list_tasks", { q: "fine" });
    expect(listed.tasks).toEqual([]);
  });

  it("when the batch is larger than 50, then the input schema refuses it", async () => {
    const result = await call(client, "add_tasks", {
      tasks: Array.from({ length: 51 }, (_, i) => ({ title: `t${i}` })),
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Input validation error/);
  });
});
