import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import {
  allPages,
  taskApiFixtures,
  useTaskApi,
  type Page as PageOf,
  type TagView as Tag,
} from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

type Page = PageOf<Tag>;

const api = useTaskApi();
const fixtures = taskApiFixtures(api);

function expectBadQuery(res: Response, pointer: string): void {
  expect(res.status).toBe(400);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: "https://taskmesh.dev/problems/bad-request",
    errors: [{ pointer, in: "query" }],
  });
}

async function createTask(user: TestUser, title: string, tags: string[]): Promise<string> {
  return (await fixtures.createTask(user, { title, tags })).id;
}

async function tags(user: TestUser, query: Record<string, string | number> = {}): Promise<Page> {
  return (await api.request.get("/v1/tags").query(query).set(user.auth).expect(200)).body as Page;
}

async function allTags(user: TestUser, limit: number): Promise<{ pages: Page[]; tags: Tag[] }> {
  const { pages, items } = await allPages((cursor) => tags(user, { limit, ...(cursor ? { cursor } : {}) }));
  return { pages, tags: items };
}

describe("GET /v1/tags", () => {
  it("when a user has no tags, then an empty page with no next cursor", async () => {
    const user = await api.signUp();

    expect(await tags(user)).toEqual({ data: [], nextCursor: null });
  });

  it("when tasks carry tags, then each tag is listed once, sorted by name regardless of case, with its open task count", async () => {
    const user = await api.signUp();
    await createTask(user, "one", ["gamma", "Beta"]);
    await createTask(user, "two", ["alpha", "beta"]);
    await createTask(user, "three", ["Delta", "beta"]);

    const page = await tags(user);

    expect(page.nextCursor).toBeNull();
    expect(page.data.map((t) => [t.name, t.openTaskCount])).toEqual([
      ["alpha", 1],
      ["Beta", 3],
      ["Delta", 1],
      ["gamma", 1],
    ]);
    for (const tag of page.data) expect(tag.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("when tasks are completed, then they no longer count, and a tag with only completed tasks shows 0", async () => {
    const user = await api.signUp();
    const done = await createTask(user, "done", ["finished", "shared"]);
    await createTask(user, "open", ["shared"]);

    await api.as(user).post(`/v1/tasks/${done}/complete`).expect(200);

    expect((await tags(user)).data.map((t) => [t.name, t.openTaskCount])).toEqual([
      ["finished", 0],
      ["shared", 1],
    ]);
  });

  it("when a completed task is reopened, then it counts again", async () => {
    const user = await api.signUp();
    const task = await createTask(user, "flip", ["flip"]);
    await api.as(user).post(`/v1/tasks/${task}/complete`).expect(200);

    await api.as(user).post(`/v1/tasks/${task}/reopen`).expect(200);

    expect((await tags(user)).data).toMatchObject([{ name: "flip", openTaskCount: 1 }]);
  });

  it("when two users use the same tag names, then each sees only their own tags and counts", async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    await createTask(a, "a1", ["work", "home"]);
    await createTask(a, "a2", ["work"]);
    await createTask(b, "b1", ["work", "secret"]);

    const tagsOfA = (await tags(a)).data;
    const tagsOfB = (await tags(b)).data;

    expect(tagsOfA.map((t) => [t.name, t.openTaskCount])).toEqual([
      ["home", 1],
      ["work", 2],
    ]);
    expect(tagsOfB.map((t) => [t.name, t.openTaskCount])).toEqual([
      ["secret", 1],
      ["work", 1],
    ]);
    const idsOfA = new Set(tagsOfA.map((t) => t.id));
    expect(tagsOfB.some((t) => idsOfA.has(t.id))).toBe(false);
  });

  it("when tags are paged two at a time, then every tag comes once, in name order, and the last page has no cursor", async () => {
    const user = await api.signUp();
    await createTask(user, "many", ["echo", "Alpha", "delta", "charlie", "Bravo"]);

    const { pages, tags: all } = await allTags(user, 2);

    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    expect(all.map((t) => t.name)).toEqual(["Alpha", "Bravo", "charlie", "delta", "echo"]);
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it("when another user's tags sort between mine, then my pages never include them", async () => {
    const me = await api.signUp();
    const other = await api.signUp();
    await createTask(me, "mine", ["a-mine", "c-mine", "e-mine"]);
    await createTask(other, "theirs", ["b-theirs", "d-theirs"]);

    const { tags: all } = await allTags(me, 1);

    expect(all.map((t) => t.name)).toEqual(["a-mine", "c-mine", "e-mine"]);
  });

  it.each([
    ["limit=0", "/limit"],
    ["limit=101", "/limit"],
    ["limit=1.5", "/limit"],
    ["name=work", "/name"],
  ])("when the query has %s, then 400 pointing at the parameter", async (query, pointer) => {
    const user = await api.signUp();

    expectBadQuery(await api.as(user).get(`/v1/tags?${query}`), pointer);
  });

  it("when the cursor is not one this endpoint issued, then 400", async () => {
    const user = await api.signUp();

    expectBadQuery(
      await api.request.get("/v1/tags").query({ cursor: "%%%not-base64%%%" }).set(user.auth),
      "/cursor",
    );
  });
});
