import { beforeAll, describe, expect, it } from "vitest";
import { call, failed, ok, textOf, useAgent, type Task } from "../harness.ts";

interface Page {
  tasks: (Task & { recurring: boolean })[];
  count: number;
  nextCursor: string | null;
}

const { h, user, client } = useAgent("read-write", { timeZone: "UTC" });
let listId: string;
let parentId: string;
beforeAll(async () => {
  listId = ((await h.api.as(user).post("/v1/lists", { name: "Work" }).expect(201)).body as { id: string }).id;
  const add = async (fields: Record<string, unknown>) =>
    (await ok<{ task: Task }>(client, "add_task", fields)).task;
  parentId = (
    await add({
      title: "alpha report",
      priority: "urgent",
      tags: ["work", "q1"],
      listId,
      dueAt: "2031-01-01T09:00:00Z",
    })
  ).id;
  await add({
    title: "bravo call",
    priority: "low",
    tags: ["work"],
    dueAt: "2031-01-02T09:00:00Z",
    recurrence: "FREQ=DAILY",
  });
  await add({
    title: "charlie errand",
    priority: "urgent",
    tags: ["home"],
    dueAt: "2031-01-03T09:00:00Z",
    description: "the charlie one",
  });
  await add({ title: "delta subtask", parentId, dueAt: "2031-01-04T09:00:00Z" });
  await add({ title: "echo overdue", dueAt: "2020-01-01T09:00:00Z" });
  const done = await add({ title: "foxtrot done" });
  await ok(client, "complete_task", { id: done.id });
});

const titles = (page: Page): string[] => page.tasks.map((t) => t.title);

describe("list_tasks", () => {
  it("when called without arguments, then open tasks by due date, compact, with a count", async () => {
    const result = await call(client, "list_tasks", {});
    const page = result.structuredContent as unknown as Page;
    expect(titles(page)).toEqual([
      "echo overdue",
      "alpha report",
      "bravo call",
      "charlie errand",
      "delta subtask",
    ]);
    expect(page.count).toBe(5);
    expect(page.nextCursor).toBeNull();
    expect(Object.keys(page.tasks[0] ?? {}).sort()).toEqual(
      [
        "completed",
        "dueAt",
        "dueDate",
        "id",
        "listId",
        "priority",
        "recurring",
        "tags",
        "title",
        "version",
      ].sort(),
    );
    expect(page.tasks.find((t) => t.title === "bravo call")?.recurring).toBe(true);
    expect(textOf(result).split("\n")[0]).toBe("5 task(s).");
  });

  it("when pages are small, then nextCursor continues the same query until the end", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let first = true;
    do {
      const result = await call(client, "list_tasks", { limit: 2, ...(cursor ? { cursor } : {}) });
      const page = result.structuredContent as unknown as Page;
      if (first) expect(textOf(result)).toContain("More match: call again with cursor = nextCursor.");
      first = false;
      seen.push(...titles(page));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(5);
  });

  it("when filters are given, then each maps to task-api's query", async () => {
    const by = async (args: Record<string, unknown>) => titles(await ok<Page>(client, "list_tasks", args));

    expect(await by({ status: "completed" })).toEqual(["foxtrot done"]);
    expect((await by({ status: "all" })).length).toBe(6);
    expect((await by({ priority: ["urgent"] })).sort()).toEqual(["alpha report", "charlie errand"]);
    expect((await by({ tag: ["work"] })).sort()).toEqual(["alpha report", "bravo call"]);
    expect(await by({ tag: ["work", "q1"], tagMatch: "all" })).toEqual(["alpha report"]);
    // The subtask lives in its parent's list.
    expect(await by({ listId })).toEqual(["alpha report", "delta subtask"]);
    expect((await by({ listId: "none" })).sort()).toEqual(["bravo call", "charlie errand", "echo overdue"]);
    expect(await by({ parentId })).toEqual(["delta subtask"]);
    expect(await by({ parentId: "none" })).not.toContain("delta subtask");
    expect(await by({ dueAfter: "2031-01-02", dueBefore: "2031-01-04" })).toEqual([
      "bravo call",
      "charlie errand",
    ]);
    expect(await by({ overdue: true })).toEqual(["echo overdue"]);
    expect(await by({ overdue: false })).not.toContain("echo overdue");
    expect(await by({ sort: ["-dueAt"], limit: 2 })).toEqual(["delta subtask", "charlie errand"]);
    expect((await by({ sort: ["-priority", "title"] }))[0]).toBe("alpha report");
  });

  it("when q is given, then only tasks whose title or description match, as GET /v1/tasks?q=", async () => {
    expect(titles(await ok<Page>(client, "list_tasks", { q: "charlie" }))).toEqual(["charlie errand"]);
    expect(titles(await ok<Page>(client, "list_tasks", { q: "report", status: "all" }))).toEqual([
      "alpha report",
    ]);
    expect((await ok<Page>(client, "list_tasks", { q: "nothing-matches-this" })).tasks).toEqual([]);
  });

  it("when an argument is unknown (query for q, tags for tag), then isError naming it and the known ones", async () => {
    const text = await failed(client, "list_tasks", { query: "charlie" });
    expect(text).toMatch(/Input validation error/);
    expect(text).toContain(
      'Unknown argument "query" (known arguments: status, priority, tag, tagMatch, listId, parentId, dueBefore, dueAfter, overdue, q, sort, limit, cursor, detail)',
    );
    expect(await failed(client, "list_tasks", { tags: ["work"], colour: "red" })).toContain(
      'Unknown arguments "tags", "colour" (known arguments: status,',
    );
  });

  it("when detail is full, then each task has every field", async () => {
    const page = await ok<Page>(client, "list_tasks", { q: "charlie", detail: "full" });
    expect(page.tasks[0]).toMatchObject({ description: "the charlie one", recurrence: null, allDay: false });
  });

  it("when the cursor is not one of ours, then isError with how to fix it", async () => {
    expect(await failed(client, "list_tasks", { cursor: "not-a-cursor" })).toMatch(
      /How to fix: Fix the named fields/,
    );
  });

  it("when dueAfter has a UTC offset past ±14:00, then isError names it and the range (not unavailable)", async () => {
    const text = await failed(client, "list_tasks", { dueAfter: "2026-01-01T00:00:00-22:59" });
    expect(text).toMatch(/dueAfter/);
    expect(text).toContain("between -14:00 and +14:00");
    expect(text).toMatch(/How to fix: Fix the named fields/);
  });

  it("when a sort key is unknown, then the input schema refuses it", async () => {
    const result = await call(client, "list_tasks", { sort: ["colour"] });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Input validation error[\s\S]*sort/);
  });
});
