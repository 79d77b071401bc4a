import { randomUUID } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, failed, ok, startAgent, textOf, type McpHarness, type Task } from "../harness.ts";

let h: McpHarness;
let client: Client;
beforeAll(async () => ({ h, client } = await startAgent("read-write")));
afterAll(() => h.close());

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
