import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import {
  allPages,
  expectProblem,
  taskApiFixtures,
  useTaskApi,
  type ListView as List,
  type Page as PageOf,
} from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

type Page = PageOf<List>;

const api = useTaskApi();
const { createList, createTask, postWithKey } = taskApiFixtures(api);

function pointers(res: Response): string[] {
  return ((res.body as { errors?: { pointer: string }[] }).errors ?? []).map((e) => e.pointer).sort();
}

async function allLists(user: TestUser, limit: number): Promise<{ pages: Page[]; lists: List[] }> {
  const { pages, items } = await allPages(
    async (cursor) =>
      (
        await api.request
          .get("/v1/lists")
          .query({ limit, ...(cursor ? { cursor } : {}) })
          .set(user.auth)
          .expect(200)
      ).body as Page,
  );
  return { pages, lists: items };
}

describe("POST /v1/lists", () => {
  it("when a user creates a list, then 201 with Location, ETag and the list, which reads back the same", async () => {
    const user = await api.signUp();

    const res = await api.as(user).post("/v1/lists", { name: "  Groceries  " }).expect(201);

    const list = res.body as List;
    expect(list).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      name: "Groceries",
      openTaskCount: 0,
      createdAt: expect.stringMatching(/Z$/) as unknown,
      updatedAt: expect.stringMatching(/Z$/) as unknown,
      version: 1,
    });
    expect(res.headers.location).toBe(`/v1/lists/${list.id}`);
    expect(res.headers.etag).toBe('"1"');
    const read = await api.as(user).get(String(res.headers.location)).expect(200);
    expect(read.body).toEqual(list);
    expect(read.headers.etag).toBe('"1"');
  });

  it.each([
    ["blank", { name: "   " }, ["/name"]],
    ["empty", { name: "" }, ["/name"]],
    ["101 characters", { name: "x".repeat(101) }, ["/name"]],
    ["missing", {}, ["/name"]],
    ["not a string", { name: 42 }, ["/name"]],
    ["null", { name: null }, ["/name"]],
    ["with an unknown field", { name: "ok", color: "red" }, ["/color"]],
    ["with a NUL character", { name: "nul\u0000name" }, ["/name"]],
  ])(
    "when the name is %s, then 422 with the field pointed at and nothing is created",
    async (_case, body, expected) => {
      const user = await api.signUp();

      const res = await api.as(user).post("/v1/lists", body);

      expectProblem(res, 422, "validation-failed");
      expect(pointers(res)).toEqual(expected);
      expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
    },
  );

  it("when the name is exactly 100 characters after trimming, then it is accepted", async () => {
    const user = await api.signUp();
    const name = "n".repeat(100);

    const list = (
      await api
        .as(user)
        .post("/v1/lists", { name: ` ${name} ` })
        .expect(201)
    ).body as List;

    expect(list.name).toBe(name);
  });

  it("when a create is retried with the same Idempotency-Key and body, then the first response is replayed and one list exists", async () => {
    const user = await api.signUp();
    const first = await postWithKey(user, "/v1/lists", { name: "Inbox" }, "create-inbox-1").expect(201);

    const retry = await postWithKey(user, "/v1/lists", { name: "Inbox" }, "create-inbox-1").expect(201);

    expect(retry.body).toEqual(first.body);
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(1);
  });

  it("when an Idempotency-Key is reused with another body, then 422 idempotency-key-reused and nothing is created", async () => {
    const user = await api.signUp();
    await postWithKey(user, "/v1/lists", { name: "First" }, "k-1").expect(201);

    const res = await postWithKey(user, "/v1/lists", { name: "Second" }, "k-1");

    expectProblem(res, 422, "idempotency-key-reused");
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(1);
  });

  it("when two users use the same Idempotency-Key, then each gets their own list", async () => {
    const a = await api.signUp();
    const b = await api.signUp();

    const ra = await postWithKey(a, "/v1/lists", { name: "Same" }, "shared-key").expect(201);
    const rb = await postWithKey(b, "/v1/lists", { name: "Same" }, "shared-key").expect(201);

    expect((rb.body as List).id).not.toBe((ra.body as List).id);
    expect(rb.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("when the Idempotency-Key is not visible ASCII, then 400 pointing at the header", async () => {
    const user = await api.signUp();

    const res = await postWithKey(user, "/v1/lists", { name: "Inbox" }, "x".repeat(256));

    expectProblem(res, 400, "bad-request");
    expect(res.body).toMatchObject({ errors: [{ pointer: "/idempotency-key", in: "header" }] });
    expect(await api.prisma.taskList.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe("GET /v1/lists", () => {
  it("when a user has no lists, then an empty page with no next cursor", async () => {
    const user = await api.signUp();

    const res = await api.as(user).get("/v1/lists").expect(200);

    expect(res.body).toEqual({ data: [], nextCursor: null });
  });

  it("when lists are paged two at a time, then every list comes once, in creation order, and the last page has no cursor", async () => {
    const user = await api.signUp();
    const created: List[] = [];
    for (const name of ["one", "two", "three", "four", "five"]) created.push(await createList(user, name));

    const { pages, lists } = await allLists(user, 2);

    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    expect(lists.map((l) => l.name)).toEqual(["one", "two", "three", "four", "five"]);
    expect(lists.map((l) => l.id)).toEqual(created.map((l) => l.id));
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it("when the lists fill the page exactly, then nextCursor is null (no empty extra page)", async () => {
    const user = await api.signUp();
    for (const name of ["a", "b"]) await createList(user, name);

    const { pages } = await allLists(user, 2);

    expect(pages).toHaveLength(1);
    expect(pages[0]?.data.map((l) => l.name)).toEqual(["a", "b"]);
    expect(pages[0]?.nextCursor).toBeNull();
  });

  it("when a list is created between pages, then paging neither repeats nor skips the earlier lists", async () => {
    const user = await api.signUp();
    for (const name of ["a", "b", "c"]) await createList(user, name);
    const first = (await api.as(user).get("/v1/lists?limit=2").expect(200)).body as Page;

    await createList(user, "d");
    const second = (
      await api.request
        .get("/v1/lists")
        .query({ limit: 2, cursor: String(first.nextCursor) })
        .set(user.auth)
        .expect(200)
    ).body as Page;

    expect([...first.data, ...second.data].map((l) => l.name)).toEqual(["a", "b", "c", "d"]);
  });

  it.each([
    ["limit=0", "/limit"],
    ["limit=101", "/limit"],
    ["limit=abc", "/limit"],
    ["sort=name", "/sort"],
  ])("when the query has %s, then 400 pointing at the parameter", async (query, pointer) => {
    const user = await api.signUp();

    const res = await api.as(user).get(`/v1/lists?${query}`);

    expectProblem(res, 400, "bad-request");
    expect(res.body).toMatchObject({ errors: [{ pointer, in: "query" }] });
  });

  it("when the cursor was not issued by this endpoint, then 400", async () => {
    const user = await api.signUp();

    for (const cursor of [
      "garbage",
      Buffer.from(JSON.stringify({ after: "not-a-uuid" })).toString("base64url"),
    ]) {
      const res = await api.request.get("/v1/lists").query({ cursor }).set(user.auth);
      expectProblem(res, 400, "bad-request");
      expect(res.body).toMatchObject({ errors: [{ pointer: "/cursor", in: "query" }] });
    }
  });
});

describe("PATCH /v1/lists/:id", () => {
  it('when a list is renamed with the current ETag, then 200 with the new name, version 2 and ETag "2"', async () => {
    const user = await api.signUp();
    const list = await createList(user, "Old");

    const res = await api
      .as(user)
      .patch(`/v1/lists/${list.id}`, { name: " New " }, { "If-Match": '"1"' })
      .expect(200);

    expect(res.body).toMatchObject({ id: list.id, name: "New", version: 2 });
    expect(res.headers.etag).toBe('"2"');
    expect((await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      name: "New",
      version: 2,
    });
  });

  it("when a list is renamed with a stale If-Match, then 412 with the current version and the name is unchanged", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Original");
    await api.as(user).patch(`/v1/lists/${list.id}`, { name: "Second" }, { "If-Match": '"1"' }).expect(200);

    const res = await api
      .as(user)
      .patch(`/v1/lists/${list.id}`, { name: "Lost update" }, { "If-Match": '"1"' });

    expectProblem(res, 412, "precondition-failed");
    expect(res.body).toMatchObject({ currentVersion: 2 });
    expect((await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      name: "Second",
      version: 2,
    });
  });

  it.each([['W/"1"'], ["1"], ['"abc"']])(
    "when If-Match is %s (not a strong tag of ours), then 412",
    async (ifMatch) => {
      const user = await api.signUp();
      const list = await createList(user, "Strong");

      const res = await api.as(user).patch(`/v1/lists/${list.id}`, { name: "Weak" }, { "If-Match": ifMatch });

      expectProblem(res, 412, "precondition-failed");
    },
  );

  it("when a list is renamed without If-Match or with If-Match *, then the change applies", async () => {
    const user = await api.signUp();
    const list = await createList(user, "A");

    await api.as(user).patch(`/v1/lists/${list.id}`, { name: "B" }).expect(200);
    const res = await api
      .as(user)
      .patch(`/v1/lists/${list.id}`, { name: "C" }, { "If-Match": "*" })
      .expect(200);

    expect(res.body).toMatchObject({ name: "C", version: 3 });
  });

  it("when the new name is blank or has unknown fields, then 422 and the list is unchanged", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Keep");

    const res = await api.as(user).patch(`/v1/lists/${list.id}`, { name: " ", archived: true });

    expectProblem(res, 422, "validation-failed");
    expect(pointers(res)).toEqual(["/archived", "/name"]);
    expect((await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      name: "Keep",
      version: 1,
    });
  });
});

describe("DELETE /v1/lists/:id", () => {
  it("when a list is deleted, then 204, it is gone, and so are its tasks but not tasks elsewhere", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Doomed");
    const inside = await createTask(user, { title: "inside", listId: list.id });
    const subtask = await createTask(user, { title: "subtask", parentId: inside.id });
    const outside = await createTask(user, { title: "outside" });

    await api.as(user).delete(`/v1/lists/${list.id}`, { "If-Match": '"1"' }).expect(204);

    expectProblem(await api.as(user).get(`/v1/lists/${list.id}`), 404, "not-found");
    expectProblem(await api.as(user).get(`/v1/tasks/${inside.id}`), 404, "not-found");
    expectProblem(await api.as(user).get(`/v1/tasks/${subtask.id}`), 404, "not-found");
    await api.as(user).get(`/v1/tasks/${outside.id}`).expect(200);
    expect(await api.prisma.task.count({ where: { userId: user.id } })).toBe(1);
    const page = (await api.as(user).get("/v1/lists").expect(200)).body as Page;
    expect(page.data).toEqual([]);
  });

  it("when a list is deleted with a stale If-Match, then 412 and the list and its tasks remain", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Kept");
    await createTask(user, { title: "kept", listId: list.id });
    await api.as(user).patch(`/v1/lists/${list.id}`, { name: "Renamed" }).expect(200);

    const res = await api.as(user).delete(`/v1/lists/${list.id}`, { "If-Match": '"1"' });

    expectProblem(res, 412, "precondition-failed");
    expect((await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      openTaskCount: 1,
    });
  });

  it("when a list is deleted twice, then the second delete is 404", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Once");
    await api.as(user).delete(`/v1/lists/${list.id}`).expect(204);

    expectProblem(await api.as(user).delete(`/v1/lists/${list.id}`), 404, "not-found");
  });
});

describe("openTaskCount", () => {
  it("when tasks are added to a list and some completed, then openTaskCount counts only its open tasks", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Counted");
    const other = await createList(user, "Other");
    const tasks = [];
    for (const title of ["a", "b", "c"]) tasks.push(await createTask(user, { title, listId: list.id }));
    await createTask(user, { title: "elsewhere", listId: other.id });
    await createTask(user, { title: "nowhere" });
    await api
      .as(user)
      .post(`/v1/tasks/${String(tasks[0]?.id)}/complete`)
      .expect(200);

    const one = (await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body as List;
    const page = (await api.as(user).get("/v1/lists").expect(200)).body as Page;

    expect(one.openTaskCount).toBe(2);
    expect(page.data.map((l) => [l.name, l.openTaskCount])).toEqual([
      ["Counted", 2],
      ["Other", 1],
    ]);
  });

  it("when a task moves out of a list, then the list's openTaskCount drops", async () => {
    const user = await api.signUp();
    const list = await createList(user, "Source");
    const task = await createTask(user, { title: "mover", listId: list.id });

    await api.as(user).patch(`/v1/tasks/${task.id}`, { listId: null }).expect(200);

    expect((await api.as(user).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      openTaskCount: 0,
    });
  });
});

describe("lists of other users", () => {
  async function setUp() {
    const owner = await api.signUp();
    const intruder = await api.signUp();
    const list = await createList(owner, "Private");
    await createTask(owner, { title: "private task", listId: list.id });
    return { owner, intruder, list };
  }

  /** The problem body without the parts that differ per request. */
  function stable(res: Response): object {
    const { requestId: _requestId, instance: _instance, ...rest } = res.body as Record<string, unknown>;
    return { status: res.status, ...rest };
  }

  it("when a user reads another user's list, then 404 exactly like a random id", async () => {
    const { intruder, list } = await setUp();

    const theirs = await api.as(intruder).get(`/v1/lists/${list.id}`);
    const random = await api.as(intruder).get(`/v1/lists/${crypto.randomUUID()}`);

    expectProblem(theirs, 404, "not-found");
    expect(stable(theirs)).toEqual(stable(random));
  });

  it("when a user renames another user's list, then 404 exactly like a random id and the list is unchanged", async () => {
    const { owner, intruder, list } = await setUp();

    const theirs = await api
      .as(intruder)
      .patch(`/v1/lists/${list.id}`, { name: "Hacked" }, { "If-Match": '"1"' });
    const random = await api
      .as(intruder)
      .patch(`/v1/lists/${crypto.randomUUID()}`, { name: "Hacked" }, { "If-Match": '"1"' });

    expectProblem(theirs, 404, "not-found");
    expect(stable(theirs)).toEqual(stable(random));
    expect((await api.as(owner).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      name: "Private",
      version: 1,
    });
  });

  it("when a user renames another user's list with a stale If-Match, then still 404 (the version is not revealed)", async () => {
    const { intruder, list } = await setUp();

    const res = await api
      .as(intruder)
      .patch(`/v1/lists/${list.id}`, { name: "Probe" }, { "If-Match": '"7"' });

    expectProblem(res, 404, "not-found");
    expect(res.body).not.toHaveProperty("currentVersion");
  });

  it("when a user deletes another user's list, then 404 exactly like a random id and the list and its tasks remain", async () => {
    const { owner, intruder, list } = await setUp();

    const theirs = await api.as(intruder).delete(`/v1/lists/${list.id}`);
    const random = await api.as(intruder).delete(`/v1/lists/${crypto.randomUUID()}`);

    expectProblem(theirs, 404, "not-found");
    expect(stable(theirs)).toEqual(stable(random));
    expect((await api.as(owner).get(`/v1/lists/${list.id}`).expect(200)).body).toMatchObject({
      openTaskCount: 1,
    });
  });

  it("when users list their lists, then another user's lists never appear", async () => {
    const { owner, intruder, list } = await setUp();
    const mine = await createList(intruder, "Mine");

    const { lists: intruderLists } = await allLists(intruder, 1);
    const { lists: ownerLists } = await allLists(owner, 1);

    expect(intruderLists.map((l) => l.id)).toEqual([mine.id]);
    expect(ownerLists.map((l) => l.id)).toEqual([list.id]);
  });

  it("when a user pages with a cursor pointing at another user's list, then only their own lists come back", async () => {
    const { intruder, list } = await setUp();
    const mine = await createList(intruder, "After");
    const cursor = Buffer.from(JSON.stringify({ after: list.id })).toString("base64url");

    const page = (await api.request.get("/v1/lists").query({ cursor }).set(intruder.auth).expect(200))
      .body as Page;

    expect(page.data.map((l) => l.id)).toEqual([mine.id]);
  });

  it.each([["not-a-uuid"], ["1"], ["00000000-0000-0000-0000-00000000000g"]])(
    "when the list id is %s, then 404",
    async (id) => {
      const user = await api.signUp();

      expectProblem(await api.as(user).get(`/v1/lists/${id}`), 404, "not-found");
    },
  );
});
