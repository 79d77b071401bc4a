import { randomUUID } from "node:crypto";
import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import {
  taskApiFixtures,
  useTaskApi,
  type Page as PageOf,
  type ProblemBody,
  type Query,
  type TaskView,
} from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

/**
 * GET /v1/tasks by example: filters, sort, full-text search and cursor pagination.
 * Every test signs up its own user, so a list only ever holds that test's tasks.
 */

const api = useTaskApi();
const { createList, createTask, listTasks } = taskApiFixtures(api);
type Page = PageOf<TaskView>;

/** Inserts a task straight into the database, for timestamps the API sets itself. */
async function insert(
  user: TestUser,
  fields: { title: string; createdAt?: Date; updatedAt?: Date; dueAt?: Date | null; id?: string },
): Promise<string> {
  const row = await api.prisma.task.create({ data: { userId: user.id, ...fields }, select: { id: true } });
  return row.id;
}

async function titles(user: TestUser, query: Query = {}): Promise<string[]> {
  return (await listTasks(user, query)).data.map((t) => t.title);
}

/** Follows nextCursor to the end and returns every task in order. */
async function all(user: TestUser, query: Query): Promise<{ tasks: TaskView[]; pages: number }> {
  const tasks: TaskView[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: Page = await listTasks(user, cursor === null ? query : { ...query, cursor });
    tasks.push(...page.data);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { tasks, pages };
}

function expectBadRequest(res: Response, pointer?: string): void {
  expect(res.status).toBe(400);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.body as ProblemBody;
  expect(body.type).toBe("https://taskmesh.dev/problems/bad-request");
  if (pointer !== undefined)
    expect(body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer, in: "query" })]));
}

function get(user: TestUser, query: Query): Promise<Response> {
  return api.request.get("/v1/tasks").query(query).set(user.auth).then();
}

function tamper(cursor: string, change: (payload: Record<string, unknown>) => void): string {
  const payload = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
  change(payload);
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

describe("status", () => {
  it("when no status is given, then only open tasks are listed; completed and all widen it", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "open" });
    const done = await createTask(user, { title: "done" });
    await api.as(user).post(`/v1/tasks/${done.id}/complete`).expect(200);
    expect(await titles(user)).toEqual(["open"]);
    expect(await titles(user, { status: "open" })).toEqual(["open"]);
    expect(await titles(user, { status: "completed" })).toEqual(["done"]);
    expect((await titles(user, { status: "all" })).sort()).toEqual(["done", "open"]);
  });

  it("when the status is unknown, then 400 naming /status", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { status: "archived" }), "/status");
  });
});

describe("priority", () => {
  it("when one priority is given, then only tasks of that priority are listed", async () => {
    const user = await api.signUp();
    for (const priority of ["none", "low", "high", "urgent"])
      await createTask(user, { title: priority, priority });
    expect(await titles(user, { priority: "high" })).toEqual(["high"]);
  });

  it("when several priorities are given repeated or comma-separated, then tasks of any of them are listed", async () => {
    const user = await api.signUp();
    for (const priority of ["none", "low", "medium", "high", "urgent"])
      await createTask(user, { title: priority, priority });
    expect((await titles(user, { priority: ["high", "urgent"] })).sort()).toEqual(["high", "urgent"]);
    expect((await titles(user, { priority: "low, medium" })).sort()).toEqual(["low", "medium"]);
    expect((await titles(user, { priority: ["none,low", "urgent"] })).sort()).toEqual([
      "low",
      "none",
      "urgent",
    ]);
  });

  it("when a priority is unknown, then 400 naming it", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { priority: "high,critical" }));
  });
});

describe("tags", () => {
  it("when one tag is given in any case, then tasks with that tag are listed", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "work", tags: ["Work"] });
    await createTask(user, { title: "home", tags: ["home"] });
    await createTask(user, { title: "untagged" });
    expect(await titles(user, { tag: "WORK" })).toEqual(["work"]);
  });

  it("when several tags are given, then any matches by default and all needs every one", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "both", tags: ["a", "b"] });
    await createTask(user, { title: "only a", tags: ["a"] });
    await createTask(user, { title: "only b", tags: ["b", "c"] });
    await createTask(user, { title: "neither", tags: ["c"] });
    expect((await titles(user, { tag: ["a", "b"] })).sort()).toEqual(["both", "only a", "only b"]);
    expect((await titles(user, { tag: "a,b", tagMatch: "any" })).sort()).toEqual([
      "both",
      "only a",
      "only b",
    ]);
    expect(await titles(user, { tag: ["a", "B"], tagMatch: "all" })).toEqual(["both"]);
    expect(await titles(user, { tag: ["a", "A"], tagMatch: "all" })).toEqual(
      expect.arrayContaining(["both", "only a"]),
    );
  });

  it("when a tag no task has is given, then the list is empty", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "t", tags: ["x"] });
    expect(await listTasks(user, { tag: "missing" })).toEqual({ data: [], nextCursor: null });
  });

  it("when tagMatch is unknown, then 400", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { tag: "a", tagMatch: "some" }), "/tagMatch");
  });
});

describe("list and parent", () => {
  it("when a listId is given, then only that list's tasks are listed; 'none' lists tasks in no list", async () => {
    const user = await api.signUp();
    const listId = (await createList(user, "L")).id;
    await createTask(user, { title: "in list", listId });
    await createTask(user, { title: "loose" });
    expect(await titles(user, { listId })).toEqual(["in list"]);
    expect(await titles(user, { listId: "none" })).toEqual(["loose"]);
    expect(await titles(user, { listId: randomUUID() })).toEqual([]);
  });

  it("when a parentId is given, then its subtasks are listed; 'none' lists top-level tasks", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "parent" });
    await createTask(user, { title: "child", parentId: parent.id });
    await createTask(user, { title: "other" });
    expect(await titles(user, { parentId: parent.id })).toEqual(["child"]);
    expect((await titles(user, { parentId: "none" })).sort()).toEqual(["other", "parent"]);
  });

  it("when listId or parentId is neither a UUID nor 'none', then 400", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { listId: "inbox" }), "/listId");
    expectBadRequest(await get(user, { parentId: "root" }), "/parentId");
  });
});

describe("due filters", () => {
  it("when dueBefore and dueAfter are instants, then dueBefore excludes and dueAfter includes the bound, and undated tasks are left out", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "early", dueAt: "2026-12-01T08:00:00Z" });
    await createTask(user, { title: "bound", dueAt: "2026-12-01T10:00:00Z" });
    await createTask(user, { title: "late", dueAt: "2026-12-01T12:00:00Z" });
    await createTask(user, { title: "undated" });
    expect(await titles(user, { dueBefore: "2026-12-01T10:00:00Z" })).toEqual(["early"]);
    expect(await titles(user, { dueAfter: "2026-12-01T10:00:00Z" })).toEqual(["bound", "late"]);
    expect(
      await titles(user, { dueAfter: "2026-12-01T09:00:00Z", dueBefore: "2026-12-01T11:00:00+00:00" }),
    ).toEqual(["bound"]);
  });

  it("when dueBefore and dueAfter are dates, then they are the start of those dates in the user's time zone", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    // 22:30 UTC on Nov 30 is 23:30 in Berlin, still Nov 30; 23:30 UTC is already Dec 1 there.
    await createTask(user, { title: "nov 30 late", dueAt: "2026-11-30T22:30:00Z" });
    await createTask(user, { title: "dec 1 early", dueAt: "2026-11-30T23:30:00Z" });
    await createTask(user, { title: "dec 1 all day", dueAt: "2026-12-01" });
    await createTask(user, { title: "dec 2", dueAt: "2026-12-02" });
    expect(await titles(user, { dueBefore: "2026-12-01" })).toEqual(["nov 30 late"]);
    expect(await titles(user, { dueAfter: "2026-12-01", dueBefore: "2026-12-02" })).toEqual([
      "dec 1 all day",
      "dec 1 early",
    ]);
  });

  it("when overdue=true, then open tasks due in the past are listed; overdue=false lists the other open tasks", async () => {
    const user = await api.signUp({ timeZone: "Pacific/Auckland" });
    await createTask(user, { title: "past instant", dueAt: "2020-01-01T10:00:00Z" });
    await createTask(user, { title: "past day", dueAt: "2020-01-02" });
    await createTask(user, { title: "future", dueAt: "2099-01-01" });
    await createTask(user, { title: "undated" });
    const done = await createTask(user, { title: "past but done", dueAt: "2020-01-01" });
    await api.as(user).post(`/v1/tasks/${done.id}/complete`).expect(200);
    expect(await titles(user, { overdue: "true" })).toEqual(["past instant", "past day"]);
    expect(await titles(user, { overdue: "false" })).toEqual(["future", "undated"]);
    expect(await titles(user, { overdue: "false", status: "completed" })).toEqual(["past but done"]);
  });

  it("when a due bound or overdue is malformed, then 400 naming it", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { dueBefore: "next week" }), "/dueBefore");
    expectBadRequest(await get(user, { dueAfter: "2026-02-30" }), "/dueAfter");
    expectBadRequest(await get(user, { dueAfter: "0000-01-01T00:00:00Z" }), "/dueAfter");
    expectBadRequest(await get(user, { overdue: "yes" }), "/overdue");
  });

  it("when a due bound has an offset past ±14:00, then 400 naming it with the range, not a database error", async () => {
    const user = await api.signUp();
    for (const dueAfter of ["2026-01-01T00:00:00-22:59", "2026-01-01T00:00:00+15:00"]) {
      const res = await get(user, { dueAfter });
      expectBadRequest(res, "/dueAfter");
      expect((res.body as ProblemBody).detail).toContain("between -14:00 and +14:00");
    }
    expectBadRequest(await get(user, { dueBefore: "2026-01-01T00:00:00+23:59" }), "/dueBefore");
    expect((await get(user, { dueAfter: "2026-01-01T00:00:00-14:00" })).status).toBe(200);
  });
});

describe("search", () => {
  it("when q is given, then title and description words match as prefixes, case-insensitively", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "Groceries for the week" });
    await createTask(user, { title: "Call the plumber", description: "Leaking GROUT in the bathroom" });
    await createTask(user, { title: "Walk the dog" });
    expect((await titles(user, { q: "gro" })).sort()).toEqual(["Call the plumber", "Groceries for the week"]);
    expect(await titles(user, { q: "PLUMB" })).toEqual(["Call the plumber"]);
  });

  it("when q has several words, then a task must match every one of them", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "buy milk", description: "and bread" });
    await createTask(user, { title: "buy bread" });
    await createTask(user, { title: "milk the cow" });
    expect(await titles(user, { q: "milk bre" })).toEqual(["buy milk"]);
    expect(await titles(user, { q: "buy, milk!" })).toEqual(["buy milk"]);
  });

  it("when q is given without a sort, then title matches rank above description matches", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "a note", description: "remember the budget" });
    await createTask(user, { title: "budget review" });
    expect(await titles(user, { q: "budget" })).toEqual(["budget review", "a note"]);
  });

  it("when q is combined with a sort and filters, then both apply", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "report draft", priority: "low" });
    await createTask(user, { title: "report final", priority: "urgent" });
    await createTask(user, { title: "report old", priority: "high", tags: ["archive"] });
    await createTask(user, { title: "unrelated", priority: "urgent" });
    expect(await titles(user, { q: "report", sort: "-priority" })).toEqual([
      "report final",
      "report old",
      "report draft",
    ]);
    expect(await titles(user, { q: "report", tag: "archive" })).toEqual(["report old"]);
  });

  it("when q has no word in it, then 400 naming /q", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { q: "!!! --" }), "/q");
    expectBadRequest(await get(user, { q: "   " }), "/q");
  });

  it("when search results span pages, then following nextCursor returns each match once in rank order", async () => {
    const user = await api.signUp();
    for (let i = 0; i < 5; i++) await createTask(user, { title: `plan ${i}` });
    for (let i = 0; i < 5; i++) await createTask(user, { title: `note ${i}`, description: "plan" });
    await createTask(user, { title: "nothing" });
    const { tasks, pages } = await all(user, { q: "plan", limit: 3 });
    expect(pages).toBe(4);
    expect(tasks.map((t) => t.title.split(" ")[0])).toEqual([
      ...Array<string>(5).fill("plan"),
      ...Array<string>(5).fill("note"),
    ]);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(10);
  });
});

describe("sort", () => {
  it("when no sort is given, then tasks come by dueAt ascending with undated tasks last", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "undated" });
    await createTask(user, { title: "later", dueAt: "2026-12-03" });
    await createTask(user, { title: "sooner", dueAt: "2026-12-01T10:00:00Z" });
    expect(await titles(user)).toEqual(["sooner", "later", "undated"]);
  });

  it("when sorting by -dueAt, then tasks come latest first and undated tasks are still last", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "undated" });
    await createTask(user, { title: "sooner", dueAt: "2026-12-01" });
    await createTask(user, { title: "later", dueAt: "2026-12-03" });
    expect(await titles(user, { sort: "-dueAt" })).toEqual(["later", "sooner", "undated"]);
  });

  it("when sorting by priority, then the order is none < low < medium < high < urgent; '-' reverses it", async () => {
    const user = await api.signUp();
    for (const priority of ["high", "none", "urgent", "low", "medium"])
      await createTask(user, { title: priority, priority });
    expect(await titles(user, { sort: "priority" })).toEqual(["none", "low", "medium", "high", "urgent"]);
    expect(await titles(user, { sort: "-priority" })).toEqual(["urgent", "high", "medium", "low", "none"]);
  });

  it("when sorting by title, then titles come in order", async () => {
    const user = await api.signUp();
    for (const title of ["pear", "apple", "fig"]) await createTask(user, { title });
    expect(await titles(user, { sort: "title" })).toEqual(["apple", "fig", "pear"]);
    expect(await titles(user, { sort: "-title" })).toEqual(["pear", "fig", "apple"]);
  });

  it("when sorting by createdAt or updatedAt, then tasks come in that order either way", async () => {
    const user = await api.signUp();
    const day = (d: number): Date => new Date(Date.UTC(2026, 0, d));
    await insert(user, { title: "b", createdAt: day(2), updatedAt: day(5) });
    await insert(user, { title: "a", createdAt: day(1), updatedAt: day(6) });
    await insert(user, { title: "c", createdAt: day(3), updatedAt: day(4) });
    expect(await titles(user, { sort: "createdAt" })).toEqual(["a", "b", "c"]);
    expect(await titles(user, { sort: "-createdAt" })).toEqual(["c", "b", "a"]);
    expect(await titles(user, { sort: "updatedAt" })).toEqual(["c", "b", "a"]);
    expect(await titles(user, { sort: "-updatedAt" })).toEqual(["a", "b", "c"]);
  });

  it("when sorting by several keys, then later keys order the ties of earlier ones", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "high late", priority: "high", dueAt: "2026-12-05" });
    await createTask(user, { title: "high soon", priority: "high", dueAt: "2026-12-01" });
    await createTask(user, { title: "high undated", priority: "high" });
    await createTask(user, { title: "low soon", priority: "low", dueAt: "2026-12-01" });
    await createTask(user, { title: "urgent", priority: "urgent", dueAt: "2026-12-09" });
    expect(await titles(user, { sort: "-priority,dueAt" })).toEqual([
      "urgent",
      "high soon",
      "high late",
      "high undated",
      "low soon",
    ]);
    expect(await titles(user, { sort: "dueAt,-priority" })).toEqual([
      "high soon",
      "low soon",
      "high late",
      "urgent",
      "high undated",
    ]);
    expect(await titles(user, { sort: "-priority,-dueAt,title" })).toEqual([
      "urgent",
      "high late",
      "high soon",
      "high undated",
      "low soon",
    ]);
  });

  it("when tasks tie on every sort key, then they come in id order, whatever the direction", async () => {
    const user = await api.signUp();
    const at = new Date("2026-03-01T00:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(
        await insert(user, { id: randomUUID(), title: "same", createdAt: at, updatedAt: at, dueAt: at }),
      );
    ids.sort();
    for (const sort of ["dueAt", "-dueAt", "title", "-title,-createdAt", "-updatedAt,priority"]) {
      expect((await listTasks(user, { sort })).data.map((t) => t.id)).toEqual(ids);
      expect((await all(user, { sort, limit: 4 })).tasks.map((t) => t.id)).toEqual(ids);
    }
  });

  it.each([
    ["an unknown key", "rank"],
    ["a key named twice", "dueAt,-dueAt"],
    ["an empty key", "dueAt,"],
    ["nothing", ""],
    ["a bare minus", "-"],
  ])("when the sort has %s, then 400 naming /sort", async (_case, sort) => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { sort }), "/sort");
  });
});

describe("pagination", () => {
  it("when no limit is given, then pages hold 50 tasks and the last page has no nextCursor", async () => {
    const user = await api.signUp();
    await api.prisma.task.createMany({
      data: Array.from({ length: 51 }, (_, i) => ({
        userId: user.id,
        title: `t${String(i).padStart(2, "0")}`,
      })),
    });
    const first = await listTasks(user, { sort: "title" });
    expect(first.data).toHaveLength(50);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listTasks(user, { sort: "title", cursor: first.nextCursor ?? "" });
    expect(second).toEqual({ data: [expect.objectContaining({ title: "t50" })], nextCursor: null });
  });

  it("when the tasks exactly fill a page, then nextCursor is null", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "a" });
    await createTask(user, { title: "b" });
    expect((await listTasks(user, { limit: 2 })).nextCursor).toBeNull();
    expect(await listTasks(user, { limit: 100 })).toMatchObject({ nextCursor: null });
  });

  it("when paging with limit 2, then every task comes once, in order, across pages", async () => {
    const user = await api.signUp();
    for (const [title, dueAt] of [
      ["c", "2026-12-03"],
      ["a", "2026-12-01"],
      ["e", null],
      ["b", "2026-12-02"],
      ["d", null],
    ] as const) {
      await createTask(user, { title, dueAt });
    }
    const { tasks, pages } = await all(user, { limit: 2, sort: "dueAt,title" });
    expect(pages).toBe(3);
    expect(tasks.map((t) => t.title)).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("when the cursor comes with another limit, then it still continues where it left off", async () => {
    const user = await api.signUp();
    for (const title of ["a", "b", "c", "d"]) await createTask(user, { title });
    const first = await listTasks(user, { sort: "title", limit: 1 });
    const rest = await listTasks(user, { sort: "title", limit: 10, cursor: first.nextCursor ?? "" });
    expect(rest.data.map((t) => t.title)).toEqual(["b", "c", "d"]);
  });

  it.each([
    ["0", "0"],
    ["101", "101"],
    ["not a number", "ten"],
    ["a fraction", "1.5"],
  ])("when the limit is %s, then 400 naming /limit", async (_case, limit) => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { limit }), "/limit");
  });

  it("when a cursor is used with other filters or another sort, then 400 naming /cursor", async () => {
    const user = await api.signUp();
    for (const title of ["a", "b", "c"]) await createTask(user, { title, priority: "high" });
    const { nextCursor } = await listTasks(user, { sort: "title", priority: "high", limit: 1 });
    const cursor = nextCursor ?? "";
    expectBadRequest(await get(user, { sort: "-title", priority: "high", cursor }), "/cursor");
    expectBadRequest(await get(user, { sort: "title", cursor }), "/cursor");
    expectBadRequest(await get(user, { sort: "title", priority: "high", status: "all", cursor }), "/cursor");
    expectBadRequest(await get(user, { sort: "title", priority: "high", q: "a", cursor }), "/cursor");
    await api.request
      .get("/v1/tasks")
      .query({ sort: "title", priority: "high", cursor })
      .set(user.auth)
      .expect(200);
  });

  it("when the cursor is not one the API issued, then 400 naming /cursor", async () => {
    const user = await api.signUp();
    for (const title of ["a", "b"]) await createTask(user, { title, dueAt: "2026-12-01" });
    const { nextCursor } = await listTasks(user, { limit: 1 });
    const cursor = nextCursor ?? "";
    for (const bad of [
      "garbage",
      "",
      Buffer.from("{}").toString("base64url"),
      Buffer.from("[1,2]").toString("base64url"),
      cursor.slice(0, -4),
    ]) {
      expectBadRequest(await get(user, { limit: 1, cursor: bad }), bad === "" ? undefined : "/cursor");
    }
  });

  it.each([
    ["dueAt", "not a date"],
    ["dueAt", "0000-01-01T00:00:00.000Z"],
    ["dueAt", 5],
    ["createdAt", "2026-13-01T00:00:00.000Z"],
    ["updatedAt", null],
    ["priority", "critical"],
    ["title", "a\u0000b"],
  ])(
    "when a cursor's %s value is edited to %j, then 400 naming /cursor (not a server error)",
    async (sort, value) => {
      const user = await api.signUp();
      for (const title of ["a", "b"]) await createTask(user, { title, dueAt: "2026-12-01" });
      const { nextCursor } = await listTasks(user, { sort, limit: 1 });
      const edited = tamper(nextCursor ?? "", (payload) => {
        payload.v = [value];
      });
      expectBadRequest(await get(user, { sort, limit: 1, cursor: edited }), "/cursor");
    },
  );

  it("when a search cursor's rank is edited out of range, then 400 naming /cursor", async () => {
    const user = await api.signUp();
    for (const title of ["plan a", "plan b"]) await createTask(user, { title });
    const { nextCursor } = await listTasks(user, { q: "plan", limit: 1 });
    for (const value of [1e300, 1e-300, "high"]) {
      const edited = tamper(nextCursor ?? "", (payload) => {
        payload.v = [value];
      });
      expectBadRequest(await get(user, { q: "plan", limit: 1, cursor: edited }), "/cursor");
    }
  });
});

describe("query parameters", () => {
  it("when an unknown query parameter is given, then 400 naming it", async () => {
    const user = await api.signUp();
    const res = await get(user, { colour: "red" });
    expectBadRequest(res, "/colour");
  });

  it("when a single-valued parameter is repeated, then 400", async () => {
    const user = await api.signUp();
    expectBadRequest(await get(user, { status: ["open", "all"] }), "/status");
    expectBadRequest(await get(user, { limit: ["1", "2"] }), "/limit");
  });

  it("when a user has no tasks, then the list is empty with no cursor", async () => {
    const user = await api.signUp();
    expect(await listTasks(user)).toEqual({ data: [], nextCursor: null });
  });

  it("when filters are combined, then a task must pass every one", async () => {
    const user = await api.signUp({ timeZone: "UTC" });
    await createTask(user, { title: "match", priority: "high", tags: ["x"], dueAt: "2026-12-01" });
    await createTask(user, { title: "wrong tag", priority: "high", tags: ["y"], dueAt: "2026-12-01" });
    await createTask(user, { title: "wrong priority", priority: "low", tags: ["x"], dueAt: "2026-12-01" });
    await createTask(user, { title: "too late", priority: "high", tags: ["x"], dueAt: "2026-12-09" });
    expect(
      await titles(user, {
        priority: "high,urgent",
        tag: "x",
        dueBefore: "2026-12-05",
        parentId: "none",
        listId: "none",
      }),
    ).toEqual(["match"]);
  });
});
