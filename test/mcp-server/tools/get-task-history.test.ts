/**
 * get_task_history reads GET /v1/tasks/:id/history, which task-api answers from audit-log. Here
 * task-api's TaskHistory (its port to audit-log) holds entries the test gives it: what is tested
 * is the mcp-server's mapping and task-api's ownership rule. The same tool against the real
 * audit-log, fed through Kafka, is in test/stack/mcp-tools.test.ts.
 */
import { randomUUID } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  TaskHistory,
  TaskHistoryEntry,
} from "../../../services/task-api/src/data/task-history.client.ts";
import type { TestUser } from "../../support/task-api.ts";
import { call, failed, ok, startMcpHarness, textOf, type McpHarness, type Task } from "../harness.ts";

const entries = new Map<string, TaskHistoryEntry[]>();
const history: TaskHistory = {
  read({ userId, taskId, cursor, limit }) {
    const all = entries.get(`${userId}/${taskId}`) ?? [];
    const from = cursor === undefined ? 0 : Number(cursor);
    const data = all.slice(from, from + limit);
    return Promise.resolve({ data, nextCursor: from + limit < all.length ? String(from + limit) : null });
  },
};

function entry(sequence: number, changes: TaskHistoryEntry["changes"]): TaskHistoryEntry {
  return {
    eventId: randomUUID(),
    type: sequence === 1 ? "dev.taskmesh.task.created.v1" : "dev.taskmesh.task.updated.v1",
    sequence,
    occurredAt: new Date(Date.UTC(2030, 0, sequence)).toISOString(),
    actor: { kind: "service", id: "mcp-server" },
    changes,
  };
}

let h: McpHarness;
let user: TestUser;
let client: Client;
beforeAll(async () => {
  h = await startMcpHarness({}, { taskApi: { taskHistory: history } });
  user = await h.signUp();
  client = await h.client((await h.personalAccessToken(user, "read")).token);
});
afterAll(async () => {
  await h.close();
});

describe("get_task_history", () => {
  it("when a task has changes, then they come back oldest first, paged with the cursor", async () => {
    const task = (await h.api.request.post("/v1/tasks").set(user.auth).send({ title: "tracked" }).expect(201))
      .body as Task;
    entries.set(`${user.id}/${task.id}`, [
      entry(1, { title: { from: null, to: "tracked" } }),
      entry(2, { priority: { from: "none", to: "high" } }),
      entry(3, { completed: { from: false, to: true } }),
    ]);

    const first = await call(client, "get_task_history", { id: task.id, limit: 2 });
    const page = first.structuredContent as {
      taskId: string;
      entries: { sequence: number; changes: Record<string, unknown>; actor: unknown }[];
      nextCursor: string | null;
    };
    expect(page.taskId).toBe(task.id);
    expect(page.entries.map((e) => e.sequence)).toEqual([1, 2]);
    expect(page.entries[1]?.changes).toEqual({ priority: { from: "none", to: "high" } });
    expect(page.entries[0]?.actor).toEqual({ kind: "service", id: "mcp-server" });
    expect(textOf(first)).toMatch(new RegExp(`^2 change\\(s\\) of task ${task.id}\\. More exist`));

    const rest = await ok<typeof page>(client, "get_task_history", {
      id: task.id,
      limit: 2,
      cursor: page.nextCursor,
    });
    expect(rest.entries.map((e) => e.sequence)).toEqual([3]);
    expect(rest.nextCursor).toBeNull();
  });

  it("when the task is not the user's and has no history for them, then isError not-found", async () => {
    expect(await failed(client, "get_task_history", { id: randomUUID() })).toMatch(/not-found/);
  });

  it("when audit-log cannot be reached, then isError unavailable says to call again", async () => {
    const down = await startMcpHarness();
    try {
      const someone = await down.signUp();
      const c = await down.client((await down.personalAccessToken(someone, "read")).token);
      const task = (
        await down.api.request.post("/v1/tasks").set(someone.auth).send({ title: "t" }).expect(201)
      ).body as Task;
      const text = await failed(c, "get_task_history", { id: task.id });
      // What to do, not where it failed: no app name, no upstream status.
      expect(text).toMatch(
        /^Error \(unavailable\): taskmesh is briefly unavailable; try again in a few seconds\./,
      );
      expect(text).not.toMatch(/task-api|HTTP 5\d\d|audit-log/);
      expect(text).toContain("How to fix: taskmesh is briefly unavailable: call again in a few seconds.");
    } finally {
      await down.close();
    }
  });
});
