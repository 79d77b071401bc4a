import { randomUUID } from "node:crypto";
import type { Response } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskView } from "../../services/task-api/src/data/task.repository.ts";
import { startTaskApi, type TestTaskApi, type TestUser } from "../support/task-api.ts";

/**
 * Component tests of the task routes: the real app on port 0 against a database of its own,
 * over HTTP. Every test signs up its own user, so no test sees another test's tasks.
 */

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  errors?: { pointer: string; in: string; detail: string }[];
  currentVersion?: number;
}

const PROBLEMS = "https://taskmesh.dev/problems/";

let api: TestTaskApi;
beforeAll(async () => {
  api = await startTaskApi();
});
afterAll(async () => {
  await api.close();
});

const task = (res: Response): TaskView => res.body as TaskView;

/** Asserts an RFC 9457 problem with the stable type and, when given, exactly these field pointers. */
function expectProblem(res: Response, status: number, code: string, pointers?: string[]): ProblemBody {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.body as ProblemBody;
  expect(body).toMatchObject({ type: PROBLEMS + code, status, code });
  // One field may break several rules; each field is named at least once and nothing else is.
  if (pointers !== undefined)
    expect([...new Set((body.errors ?? []).map((e) => e.pointer))].sort()).toEqual([...pointers].sort());
  return body;
}

async function create(user: TestUser, body: object): Promise<TaskView> {
  return task(await api.request.post("/v1/tasks").set(user.auth).send(body).expect(201));
}

async function read(user: TestUser, id: string): Promise<TaskView> {
  return task(await api.request.get(`/v1/tasks/${id}`).set(user.auth).expect(200));
}

async function createList(user: TestUser, name: string): Promise<string> {
  const res = await api.request.post("/v1/lists").set(user.auth).send({ name }).expect(201);
  return (res.body as { id: string }).id;
}

function taskCount(user: TestUser): Promise<number> {
  return api.prisma.task.count({ where: { userId: user.id } });
}

describe("POST /v1/tasks", () => {
  it("when a user creates a task with only a title, then 201 with Location, ETag and the defaults", async () => {
    const user = await api.signUp();
    const res = await api.request.post("/v1/tasks").set(user.auth).send({ title: "Buy milk" }).expect(201);
    const created = task(res);
    expect(res.headers.location).toBe(`/v1/tasks/${created.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      listId: null,
      parentId: null,
      title: "Buy milk",
      description: null,
      completed: false,
      completedAt: null,
      priority: "none",
      tags: [],
      dueAt: null,
      allDay: false,
      dueDate: null,
      recurrence: null,
      remindAt: null,
      createdAt: expect.any(String) as unknown,
      updatedAt: expect.any(String) as unknown,
      version: 1,
    });
    expect(await read(user, created.id)).toEqual(created);
  });

  it("when a user creates a task with every field, then each is stored and returned", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const listId = await createList(user, "Home");
    const created = await create(user, {
      title: "Water the plants",
      description: "The *big* ones",
      priority: "high",
      tags: ["home", "Garden"],
      listId,
      dueAt: "2026-12-01T09:00:00+02:00",
      remindAt: "2026-12-01T06:30:00Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TU",
    });
    expect(created).toMatchObject({
      title: "Water the plants",
      description: "The *big* ones",
      priority: "high",
      tags: ["Garden", "home"],
      listId,
      dueAt: "2026-12-01T07:00:00.000Z",
      allDay: false,
      dueDate: "2026-12-01",
      remindAt: "2026-12-01T06:30:00.000Z",
      recurrence: "FREQ=WEEKLY;BYDAY=TU",
      completed: false,
    });
    expect(await read(user, created.id)).toEqual(created);
  });

  it("when the title has surrounding spaces, then it is trimmed and 200 characters after trimming are accepted", async () => {
    const user = await api.signUp();
    expect((await create(user, { title: "  Call mum \n" })).title).toBe("Call mum");
    const long = "x".repeat(200);
    expect((await create(user, { title: `   ${long}   ` })).title).toBe(long);
  });

  it.each([
    ["blank", { title: "   " }, ["/title"]],
    ["missing", { description: "no title" }, ["/title"]],
    ["201 characters", { title: "x".repeat(201) }, ["/title"]],
    ["a number", { title: 42 }, ["/title"]],
    ["null", { title: null }, ["/title"]],
    ["holding a NUL character", { title: "a\u0000b" }, ["/title"]],
  ])("when the title is %s, then 422 naming /title and nothing is created", async (_case, body, pointers) => {
    const user = await api.signUp();
    const res = await api.request.post("/v1/tasks").set(user.auth).send(body);
    expectProblem(res, 422, "validation-failed", pointers);
    expect(await taskCount(user)).toBe(0);
  });

  it("when the description is 10,000 characters, then it is stored; at 10,001, then 422 naming /description", async () => {
    const user = await api.signUp();
    expect((await create(user, { title: "t", description: "d".repeat(10_000) })).description).toHaveLength(
      10_000,
    );
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "t", description: "d".repeat(10_001) });
    expectProblem(res, 422, "validation-failed", ["/description"]);
    expect(await taskCount(user)).toBe(1);
  });

  it("when several fields are invalid, then 422 names each of them by JSON pointer", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({
        title: "",
        priority: "critical",
        tags: ["ok", "a,b"],
        dueAt: "tomorrow",
        remindAt: "2026-12-01",
        allDay: "yes",
        listId: "nope",
      });
    const problem = expectProblem(res, 422, "validation-failed", [
      "/title",
      "/priority",
      "/tags/1",
      "/dueAt",
      "/remindAt",
      "/allDay",
      "/listId",
    ]);
    expect(problem.errors?.every((e) => e.in === "body")).toBe(true);
    expect(await taskCount(user)).toBe(0);
  });

  it.each(["none", "low", "medium", "high", "urgent"])(
    "when the priority is %s, then it is stored",
    async (priority) => {
      const user = await api.signUp();
      expect((await create(user, { title: "t", priority })).priority).toBe(priority);
    },
  );

  it("when a client sets fields it may not (owner, id, timestamps, version, completion), then 422 names each and nothing is stored", async () => {
    const user = await api.signUp();
    const other = await api.signUp();
    const res = await api.request.post("/v1/tasks").set(user.auth).send({
      title: "sneaky",
      userId: other.id,
      owner: other.id,
      id: randomUUID(),
      createdAt: "2020-01-01T00:00:00Z",
      updatedAt: "2020-01-01T00:00:00Z",
      version: 7,
      completedAt: "2020-01-01T00:00:00Z",
      completed: true,
    });
    expectProblem(res, 422, "validation-failed", [
      "/userId",
      "/owner",
      "/id",
      "/createdAt",
      "/updatedAt",
      "/version",
      "/completedAt",
      "/completed",
    ]);
    expect(await taskCount(user)).toBe(0);
    expect(await taskCount(other)).toBe(0);
  });

  it("when the body is malformed JSON, then 400 malformed-json and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Content-Type", "application/json")
      .send('{"title": "x",');
    expectProblem(res, 400, "malformed-json");
    expect(await taskCount(user)).toBe(0);
  });

  it("when the body is JSON but not an object, then it is refused and nothing is created", async () => {
    const user = await api.signUp();
    const array = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Content-Type", "application/json")
      .send("[]");
    expectProblem(array, 422, "validation-failed", [""]);
    const bare = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Content-Type", "application/json")
      .send('"title"');
    expectProblem(bare, 400, "malformed-json");
    const none = await api.request.post("/v1/tasks").set(user.auth);
    expectProblem(none, 422, "validation-failed");
    expect(await taskCount(user)).toBe(0);
  });

  it("when the body is over 64 KiB, then 413 and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "big", description: "d".repeat(70_000) });
    expectProblem(res, 413, "payload-too-large");
    expect(await taskCount(user)).toBe(0);
  });

  it.each(["text/plain", "application/x-www-form-urlencoded", "application/xml"])(
    "when the body is sent as %s, then 415 and nothing is created",
    async (contentType) => {
      const user = await api.signUp();
      const res = await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .set("Content-Type", contentType)
        .send("title=x");
      expectProblem(res, 415, "unsupported-media-type");
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when the request has no credentials, then 401 and nothing is created", async () => {
    const res = await api.request.post("/v1/tasks").send({ title: "anonymous" });
    expectProblem(res, 401, "unauthenticated");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
  });
});

describe("tags", () => {
  it("when tags differ only in case in one request, then one tag is kept, spelled as first given", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", tags: ["Work", "work", "WORK"] });
    expect(created.tags).toEqual(["Work"]);
    expect(await api.prisma.tag.count({ where: { userId: user.id } })).toBe(1);
  });

  it("when a later task names an existing tag in another case, then the tag keeps its first spelling", async () => {
    const user = await api.signUp();
    await create(user, { title: "first", tags: ["ProjectX"] });
    const second = await create(user, { title: "second", tags: [" projectx "] });
    expect(second.tags).toEqual(["ProjectX"]);
    const tags = await api.request.get("/v1/tags").set(user.auth).expect(200);
    expect((tags.body as { data: { name: string; openTaskCount: number }[] }).data).toEqual([
      expect.objectContaining({ name: "ProjectX", openTaskCount: 2 }),
    ]);
  });

  it.each([
    ["blank", "  "],
    ["with a comma", "a,b"],
    ["51 characters", "t".repeat(51)],
    ["with a control character", "a\tb"],
  ])("when a tag is %s, then 422 naming it by index and nothing is created", async (_case, bad) => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "t", tags: ["fine", bad] });
    expectProblem(res, 422, "validation-failed", ["/tags/1"]);
    expect(await taskCount(user)).toBe(0);
    expect(await api.prisma.tag.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when a patch replaces the tags, then the task has exactly the new ones", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", tags: ["a", "b"] });
    const patched = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .send({ tags: ["B", "c"] })
      .expect(200);
    expect(task(patched).tags).toEqual(["b", "c"]);
    expect(task(patched).version).toBe(2);
    const cleared = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .send({ tags: [] })
      .expect(200);
    expect(task(cleared).tags).toEqual([]);
  });
});

describe("due dates", () => {
  it("when dueAt is a date, then the task is all-day from the start of that date in the user's time zone", async () => {
    const user = await api.signUp({ timeZone: "America/New_York" });
    const created = await create(user, { title: "t", dueAt: "2026-07-04" });
    expect(created).toMatchObject({ dueAt: "2026-07-04T04:00:00.000Z", allDay: true, dueDate: "2026-07-04" });
  });

  it("when dueAt is an instant with an offset, then it is stored in UTC and dueDate is its date in the user's zone", async () => {
    const user = await api.signUp({ timeZone: "Asia/Tokyo" });
    const created = await create(user, { title: "t", dueAt: "2026-12-01T20:00:00-05:00" });
    expect(created).toMatchObject({
      dueAt: "2026-12-02T01:00:00.000Z",
      allDay: false,
      dueDate: "2026-12-02",
    });
  });

  it("when allDay is true with an instant, then dueAt moves to the start of that instant's date in the user's zone", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const created = await create(user, { title: "t", dueAt: "2026-12-01T15:30:00Z", allDay: true });
    expect(created).toMatchObject({ dueAt: "2026-11-30T23:00:00.000Z", allDay: true, dueDate: "2026-12-01" });
  });

  it("when allDay contradicts dueAt, then 422 naming /allDay and nothing is created", async () => {
    const user = await api.signUp();
    expectProblem(
      await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .send({ title: "t", dueAt: "2026-12-01", allDay: false }),
      422,
      "validation-failed",
      ["/allDay"],
    );
    expectProblem(
      await api.request.post("/v1/tasks").set(user.auth).send({ title: "t", allDay: true }),
      422,
      "validation-failed",
      ["/allDay"],
    );
    expect(await taskCount(user)).toBe(0);
  });

  it.each([
    ["not a calendar date", { dueAt: "2026-02-30" }, "/dueAt"],
    ["an instant without offset", { dueAt: "2026-12-01T09:00:00" }, "/dueAt"],
    ["in year 0", { dueAt: "0000-06-01" }, "/dueAt"],
    ["past year 9999 once in UTC", { dueAt: "9999-12-31T23:00:00-14:00" }, "/dueAt"],
    ["a reminder given as a date", { remindAt: "2026-12-01" }, "/remindAt"],
    ["a reminder in year 0", { remindAt: "0000-01-01T00:00:00Z" }, "/remindAt"],
  ])(
    "when the due date or reminder is %s, then 422 naming it and nothing is created",
    async (_case, fields, pointer) => {
      const user = await api.signUp();
      const res = await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .send({ title: "t", ...fields });
      expectProblem(res, 422, "validation-failed", [pointer]);
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when the user moves to another time zone, then all-day tasks keep their date and timed tasks their instant", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const allDay = await create(user, { title: "all day", dueAt: "2026-12-01" });
    const timed = await create(user, { title: "timed", dueAt: "2026-12-01T10:00:00Z" });
    await api.request.patch("/v1/me").set(user.auth).send({ timeZone: "America/Los_Angeles" }).expect(200);
    const movedAllDay = await read(user, allDay.id);
    expect(movedAllDay).toMatchObject({
      dueDate: "2026-12-01",
      dueAt: "2026-12-01T08:00:00.000Z",
      allDay: true,
      version: 2,
    });
    expect(await read(user, timed.id)).toMatchObject({
      dueAt: "2026-12-01T10:00:00.000Z",
      dueDate: "2026-12-01",
      version: 1,
    });
  });

  it("when the user's new time zone is not an IANA zone, then 422 naming /timeZone and no task moves", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const allDay = await create(user, { title: "all day", dueAt: "2026-12-01" });
    const res = await api.request.patch("/v1/me").set(user.auth).send({ timeZone: "Mars/Olympus_Mons" });
    expectProblem(res, 422, "validation-failed", ["/timeZone"]);
    expect(await read(user, allDay.id)).toEqual(allDay);
    const me = await api.request.get("/v1/me").set(user.auth).expect(200);
    expect((me.body as { timeZone: string }).timeZone).toBe("Europe/Berlin");
  });
});

describe("recurrence", () => {
  it.each([
    ["rrule:freq=weekly;byday=mo,we", "FREQ=WEEKLY;BYDAY=MO,WE"],
    ["FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"],
    ["FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR"],
    ["FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"],
    ["FREQ=DAILY;INTERVAL=2;UNTIL=20271231T235959Z", "FREQ=DAILY;INTERVAL=2;UNTIL=20271231T235959Z"],
  ])("when the recurrence is the valid RRULE %s, then it is stored normalised", async (rule, stored) => {
    const user = await api.signUp();
    expect((await create(user, { title: "t", dueAt: "2026-12-01", recurrence: rule })).recurrence).toBe(
      stored,
    );
  });

  it("when a recurrence is given without a dueAt, then 422 naming /recurrence and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "t", recurrence: "FREQ=DAILY" });
    expectProblem(res, 422, "validation-failed", ["/recurrence"]);
    expect(await taskCount(user)).toBe(0);
  });

  it.each([
    ["an unknown FREQ", "FREQ=SOMETIMES"],
    ["a negative INTERVAL", "FREQ=DAILY;INTERVAL=-1"],
    ["an unknown weekday", "FREQ=WEEKLY;BYDAY=XX"],
    ["a sign without an ordinal", "FREQ=WEEKLY;BYDAY=+MO"],
    ["a too frequent FREQ", "FREQ=MINUTELY"],
    ["no FREQ", "INTERVAL=2"],
    ["both COUNT and UNTIL", "FREQ=DAILY;COUNT=3;UNTIL=20271231"],
    ["an UNTIL that is not a date", "FREQ=DAILY;UNTIL=20270230"],
    ["an UNTIL with an impossible time", "FREQ=DAILY;UNTIL=20271201T250000Z"],
    ["BYSETPOS alone", "FREQ=MONTHLY;BYSETPOS=1"],
    ["a repeated part", "FREQ=DAILY;FREQ=WEEKLY"],
    ["an unknown part", "FREQ=DAILY;EVERY=2"],
    ["BYMONTHDAY with WEEKLY", "FREQ=WEEKLY;BYMONTHDAY=1"],
    ["a numbered BYDAY with DAILY", "FREQ=DAILY;BYDAY=1MO"],
    ["DTSTART lines", "DTSTART:20261201T000000Z\nRRULE:FREQ=DAILY"],
    ["empty", ""],
    ["a series that ended before dueAt", "FREQ=DAILY;UNTIL=20200101"],
  ])(
    "when the recurrence has %s, then 422 naming /recurrence and nothing is created",
    async (_case, rule) => {
      const user = await api.signUp();
      const res = await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .send({ title: "t", dueAt: "2026-12-01", recurrence: rule });
      expectProblem(res, 422, "validation-failed", ["/recurrence"]);
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when a patch clears the dueAt of a recurring task, then 422 naming /dueAt and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ dueAt: null });
    expectProblem(res, 422, "validation-failed", ["/dueAt"]);
    expect(await read(user, created.id)).toEqual(created);
  });

  it("when a patch sets an invalid RRULE, then 422 and the task keeps its recurrence", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .send({ recurrence: "FREQ=DAILY;INTERVAL=0" });
    expectProblem(res, 422, "validation-failed", ["/recurrence"]);
    expect(await read(user, created.id)).toEqual(created);
  });

  it("when a patch clears both dueAt and recurrence, then both are cleared", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .send({ dueAt: null, recurrence: null })
      .expect(200);
    expect(task(res)).toMatchObject({
      dueAt: null,
      dueDate: null,
      allDay: false,
      recurrence: null,
      version: 2,
    });
  });
});

describe("lists", () => {
  it("when the listId is one of the user's lists, then the task is in it", async () => {
    const user = await api.signUp();
    const listId = await createList(user, "Work");
    expect((await create(user, { title: "t", listId })).listId).toBe(listId);
  });

  it("when the listId names no list, then 422 naming /listId and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.request.post("/v1/tasks").set(user.auth).send({ title: "t", listId: randomUUID() });
    expectProblem(res, 422, "validation-failed", ["/listId"]);
    expect(await taskCount(user)).toBe(0);
  });
});

describe("GET /v1/tasks/:id", () => {
  it("when the client sends the current ETag in If-None-Match, then 304 with the ETag and no body", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const res = await api.request
      .get(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-None-Match", '"1"')
      .expect(304);
    expect(res.headers.etag).toBe('"1"');
    expect(res.text).toBe("");
  });

  it("when the client's ETag is stale, then 200 with the current task and ETag", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ title: "t2" }).expect(200);
    const res = await api.request
      .get(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-None-Match", '"1"')
      .expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(task(res).title).toBe("t2");
  });

  it("when the id is given in upper case, then it names the same task", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    expect(await read(user, created.id.toUpperCase())).toEqual(created);
  });
});

describe("unknown ids", () => {
  const routes: [string, (id: string, user: TestUser) => Promise<Response>][] = [
    ["GET", (id, user) => api.request.get(`/v1/tasks/${id}`).set(user.auth).then()],
    ["PATCH", (id, user) => api.request.patch(`/v1/tasks/${id}`).set(user.auth).send({ title: "x" }).then()],
    ["DELETE", (id, user) => api.request.delete(`/v1/tasks/${id}`).set(user.auth).then()],
    ["POST complete", (id, user) => api.request.post(`/v1/tasks/${id}/complete`).set(user.auth).then()],
    ["POST reopen", (id, user) => api.request.post(`/v1/tasks/${id}/reopen`).set(user.auth).then()],
  ];
  for (const [route, call] of routes) {
    it.each([
      ["a random UUID", randomUUID()],
      ["not a UUID", "not-a-uuid"],
      ["a number", "123"],
      ["a UUID with trailing junk", `${randomUUID()}x`],
    ])(`when ${route} names %s, then 404 not-found and nothing changes`, async (_case, id) => {
      const user = await api.signUp();
      const existing = await create(user, { title: "keep me" });
      const res = await call(id, user);
      const problem = expectProblem(res, 404, "not-found");
      expect(problem.detail).toBe("Task was not found.");
      expect(await read(user, existing.id)).toEqual(existing);
      expect(await taskCount(user)).toBe(1);
    });
  }
});

describe("PATCH /v1/tasks/:id", () => {
  it("when a merge patch names some fields, then those change, absent ones stay, null clears, and the version bumps", async () => {
    const user = await api.signUp();
    const created = await create(user, {
      title: "t",
      description: "d",
      priority: "low",
      dueAt: "2026-12-01T10:00:00Z",
      tags: ["x"],
    });
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .send({ priority: "urgent", description: null })
      .expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(task(res)).toEqual({
      ...created,
      priority: "urgent",
      description: null,
      version: 2,
      updatedAt: expect.any(String) as unknown,
    });
    expect(Date.parse(task(res).updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(await read(user, created.id)).toEqual(task(res));
  });

  it("when the patch is sent as application/merge-patch+json, then it is applied", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("Content-Type", "application/merge-patch+json")
      .send(JSON.stringify({ title: "renamed" }))
      .expect(200);
    expect(task(res).title).toBe("renamed");
  });

  it("when every patch changes something, then every one bumps the version by one", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const changes = [
      { title: "a" },
      { description: "b" },
      { priority: "medium" },
      { tags: ["c"] },
      { dueAt: "2026-12-01" },
      { remindAt: "2026-11-30T08:00:00Z" },
      { recurrence: "FREQ=DAILY" },
    ];
    for (const [i, change] of changes.entries()) {
      const res = await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send(change).expect(200);
      expect(task(res).version).toBe(i + 2);
      expect(res.headers.etag).toBe(`"${i + 2}"`);
    }
  });

  it("when the patch is empty, then the task and its version stay as they were", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const res = await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({}).expect(200);
    expect(task(res)).toEqual(created);
  });

  it("when If-Match names the current version (or *), then the patch applies", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-Match", '"1"')
      .send({ title: "v2" })
      .expect(200);
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-Match", "*")
      .send({ title: "v3" })
      .expect(200);
    expect(task(res)).toMatchObject({ title: "v3", version: 3 });
  });

  it.each([
    ["a stale version", '"1"'],
    ["a future version", '"9"'],
    ["a weak tag", 'W/"2"'],
    ["something that is not an ETag", "v2"],
  ])("when If-Match names %s, then 412 and the task is unchanged", async (_case, ifMatch) => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ title: "v2" }).expect(200);
    const before = await read(user, created.id);
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-Match", ifMatch)
      .send({ title: "lost update" });
    expectProblem(res, 412, "precondition-failed");
    expect(await read(user, created.id)).toEqual(before);
  });

  it("when If-Match is stale, then the problem tells the current version", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ title: "v2" }).expect(200);
    const res = await api.request
      .patch(`/v1/tasks/${created.id}`)
      .set(user.auth)
      .set("If-Match", '"1"')
      .send({ title: "v3" });
    expect(expectProblem(res, 412, "precondition-failed").currentVersion).toBe(2);
  });

  it.each([
    ["an unknown field", { colour: "red" }, ["/colour"]],
    ["the owner", { userId: "someone-else" }, ["/userId"]],
    ["the id", { id: randomUUID() }, ["/id"]],
    ["the version", { version: 99 }, ["/version"]],
    [
      "createdAt and updatedAt",
      { createdAt: "2020-01-01T00:00:00Z", updatedAt: "2020-01-01T00:00:00Z" },
      ["/createdAt", "/updatedAt"],
    ],
    ["completedAt", { completedAt: "2020-01-01T00:00:00Z" }, ["/completedAt"]],
    ["a blank title", { title: " " }, ["/title"]],
    ["a null title", { title: null }, ["/title"]],
    ["a wrong type", { priority: 3, tags: "a" }, ["/priority", "/tags"]],
    ["a NUL in the description", { description: "a\u0000" }, ["/description"]],
    ["allDay without a dueAt", { allDay: true }, ["/allDay"]],
    ["a listId that names no list", { listId: randomUUID() }, ["/listId"]],
  ])(
    "when the patch sets %s, then 422 naming it and the task is unchanged",
    async (_case, body, pointers) => {
      const user = await api.signUp();
      const created = await create(user, { title: "t", description: "d", tags: ["x"] });
      const res = await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send(body);
      expectProblem(res, 422, "validation-failed", pointers);
      expect(await read(user, created.id)).toEqual(created);
    },
  );

  it("when the patch is malformed, too large or not JSON, then 400, 413 or 415 and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const url = `/v1/tasks/${created.id}`;
    expectProblem(
      await api.request.patch(url).set(user.auth).set("Content-Type", "application/json").send("{title:"),
      400,
      "malformed-json",
    );
    expectProblem(
      await api.request
        .patch(url)
        .set(user.auth)
        .send({ description: "d".repeat(70_000) }),
      413,
      "payload-too-large",
    );
    expectProblem(
      await api.request.patch(url).set(user.auth).set("Content-Type", "text/plain").send("title=x"),
      415,
      "unsupported-media-type",
    );
    expect(await read(user, created.id)).toEqual(created);
  });
});

describe("DELETE /v1/tasks/:id", () => {
  it("when a user deletes a task, then 204 and it is gone", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t", tags: ["x"] });
    const res = await api.request.delete(`/v1/tasks/${created.id}`).set(user.auth).expect(204);
    expect(res.text).toBe("");
    expectProblem(await api.request.get(`/v1/tasks/${created.id}`).set(user.auth), 404, "not-found");
    expect(await taskCount(user)).toBe(0);
  });

  it("when If-Match is current, then the task is deleted; when stale, then 412 and it stays", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ title: "v2" }).expect(200);
    const before = await read(user, created.id);
    expectProblem(
      await api.request.delete(`/v1/tasks/${created.id}`).set(user.auth).set("If-Match", '"1"'),
      412,
      "precondition-failed",
    );
    expect(await read(user, created.id)).toEqual(before);
    await api.request.delete(`/v1/tasks/${created.id}`).set(user.auth).set("If-Match", '"2"').expect(204);
    expect(await taskCount(user)).toBe(0);
  });

  it("when a task is deleted twice, then the second answer is 404", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.delete(`/v1/tasks/${created.id}`).set(user.auth).expect(204);
    expectProblem(await api.request.delete(`/v1/tasks/${created.id}`).set(user.auth), 404, "not-found");
  });
});

describe("complete and reopen", () => {
  it("when a user completes a task, then completed and completedAt are set, the version bumps and the ETag follows", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const res = await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).expect(200);
    expect(res.headers.etag).toBe('"2"');
    expect(task(res)).toMatchObject({
      completed: true,
      completedAt: expect.any(String) as unknown,
      version: 2,
    });
    expect(await read(user, created.id)).toEqual(task(res));
  });

  it("when a completed task is completed again, then nothing changes", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const first = task(await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).expect(200));
    const second = task(
      await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).expect(200),
    );
    expect(second).toEqual(first);
  });

  it("when a user reopens a completed task, then completed is false, completedAt is cleared and the version bumps", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).expect(200);
    const res = await api.request.post(`/v1/tasks/${created.id}/reopen`).set(user.auth).expect(200);
    expect(res.headers.etag).toBe('"3"');
    expect(task(res)).toMatchObject({ completed: false, completedAt: null, version: 3 });
  });

  it("when an open task is reopened, then nothing changes", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    expect(task(await api.request.post(`/v1/tasks/${created.id}/reopen`).set(user.auth).expect(200))).toEqual(
      created,
    );
  });

  it("when If-Match is stale on complete or reopen, then 412 and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.patch(`/v1/tasks/${created.id}`).set(user.auth).send({ title: "v2" }).expect(200);
    const before = await read(user, created.id);
    expectProblem(
      await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).set("If-Match", '"1"'),
      412,
      "precondition-failed",
    );
    expect(await read(user, created.id)).toEqual(before);
    await api.request
      .post(`/v1/tasks/${created.id}/complete`)
      .set(user.auth)
      .set("If-Match", '"2"')
      .expect(200);
    const completed = await read(user, created.id);
    expectProblem(
      await api.request.post(`/v1/tasks/${created.id}/reopen`).set(user.auth).set("If-Match", '"2"'),
      412,
      "precondition-failed",
    );
    expect(await read(user, created.id)).toEqual(completed);
  });
});

describe("subtasks", () => {
  it("when a subtask is created, then it lives in its parent's list", async () => {
    const user = await api.signUp();
    const listId = await createList(user, "Trip");
    const parent = await create(user, { title: "pack", listId });
    const sub = await create(user, { title: "socks", parentId: parent.id });
    expect(sub).toMatchObject({ parentId: parent.id, listId });
    expect((await create(user, { title: "shirts", parentId: parent.id, listId })).listId).toBe(listId);
  });

  it.each([
    ["another list than its parent's", "listOther"],
    ["no list while its parent has one", "listNull"],
  ])(
    "when a subtask is created in %s, then 422 naming /listId and nothing is created",
    async (_case, which) => {
      const user = await api.signUp();
      const listId = await createList(user, "Trip");
      const other = await createList(user, "Other");
      const parent = await create(user, { title: "pack", listId });
      const res = await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .send({ title: "socks", parentId: parent.id, listId: which === "listOther" ? other : null });
      expectProblem(res, 422, "validation-failed", ["/listId"]);
      expect(await taskCount(user)).toBe(1);
    },
  );

  it("when a subtask of a subtask is created, then 422 naming /parentId (one level only)", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const sub = await create(user, { title: "s", parentId: parent.id });
    const res = await api.request.post("/v1/tasks").set(user.auth).send({ title: "ss", parentId: sub.id });
    expectProblem(res, 422, "validation-failed", ["/parentId"]);
    expect(await taskCount(user)).toBe(2);
  });

  it("when the parentId names no task, then 422 naming /parentId", async () => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "s", parentId: randomUUID() });
    expectProblem(res, 422, "validation-failed", ["/parentId"]);
    expect(await taskCount(user)).toBe(0);
  });

  it("when a task is made its own parent, or a parent is made a subtask, then 422 and nothing changes", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const sub = await create(user, { title: "s", parentId: parent.id });
    const other = await create(user, { title: "o" });
    expectProblem(
      await api.request.patch(`/v1/tasks/${other.id}`).set(user.auth).send({ parentId: other.id }),
      422,
      "validation-failed",
      ["/parentId"],
    );
    expectProblem(
      await api.request.patch(`/v1/tasks/${parent.id}`).set(user.auth).send({ parentId: other.id }),
      422,
      "validation-failed",
      ["/parentId"],
    );
    expect(await read(user, other.id)).toEqual(other);
    expect(await read(user, parent.id)).toEqual(parent);
    expect(await read(user, sub.id)).toEqual(sub);
  });

  it("when a task becomes a subtask, then it moves to its parent's list; when it leaves, then it keeps that list", async () => {
    const user = await api.signUp();
    const listId = await createList(user, "Trip");
    const parent = await create(user, { title: "p", listId });
    const loose = await create(user, { title: "loose" });
    const adopted = task(
      await api.request
        .patch(`/v1/tasks/${loose.id}`)
        .set(user.auth)
        .send({ parentId: parent.id })
        .expect(200),
    );
    expect(adopted).toMatchObject({ parentId: parent.id, listId });
    const freed = task(
      await api.request.patch(`/v1/tasks/${loose.id}`).set(user.auth).send({ parentId: null }).expect(200),
    );
    expect(freed).toMatchObject({ parentId: null, listId });
  });

  it("when a parent moves to another list, then its subtasks move with it", async () => {
    const user = await api.signUp();
    const from = await createList(user, "From");
    const to = await createList(user, "To");
    const parent = await create(user, { title: "p", listId: from });
    const sub = await create(user, { title: "s", parentId: parent.id });
    await api.request.patch(`/v1/tasks/${parent.id}`).set(user.auth).send({ listId: to }).expect(200);
    expect(await read(user, sub.id)).toMatchObject({ listId: to, version: 2 });
  });

  it("when a subtask alone is moved to another list, then 422 naming /listId and it stays in its parent's list", async () => {
    const user = await api.signUp();
    const listId = await createList(user, "Trip");
    const other = await createList(user, "Other");
    const parent = await create(user, { title: "p", listId });
    const sub = await create(user, { title: "s", parentId: parent.id });
    expectProblem(
      await api.request.patch(`/v1/tasks/${sub.id}`).set(user.auth).send({ listId: other }),
      422,
      "validation-failed",
      ["/listId"],
    );
    expectProblem(
      await api.request.patch(`/v1/tasks/${sub.id}`).set(user.auth).send({ listId: null }),
      422,
      "validation-failed",
      ["/listId"],
    );
    expect(await read(user, sub.id)).toEqual(sub);
    // Naming the list it is already in is fine.
    await api.request.patch(`/v1/tasks/${sub.id}`).set(user.auth).send({ listId }).expect(200);
  });

  it("when a parent is completed, then its open subtasks complete with it and completed ones keep their completedAt", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const open = await create(user, { title: "open", parentId: parent.id });
    const done = await create(user, { title: "done", parentId: parent.id });
    const doneEarlier = task(
      await api.request.post(`/v1/tasks/${done.id}/complete`).set(user.auth).expect(200),
    );
    const completedParent = task(
      await api.request.post(`/v1/tasks/${parent.id}/complete`).set(user.auth).expect(200),
    );
    expect(await read(user, open.id)).toMatchObject({
      completed: true,
      completedAt: completedParent.completedAt,
      version: 2,
    });
    expect(await read(user, done.id)).toEqual(doneEarlier);
  });

  it("when a subtask of a completed parent is reopened, then the parent is reopened too (and its other subtasks stay completed)", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const a = await create(user, { title: "a", parentId: parent.id });
    const b = await create(user, { title: "b", parentId: parent.id });
    await api.request.post(`/v1/tasks/${parent.id}/complete`).set(user.auth).expect(200);
    await api.request.post(`/v1/tasks/${a.id}/reopen`).set(user.auth).expect(200);
    expect(await read(user, parent.id)).toMatchObject({ completed: false, completedAt: null, version: 3 });
    expect(await read(user, b.id)).toMatchObject({ completed: true });
  });

  it("when an open subtask is created under a completed parent, then the parent is reopened", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    await api.request.post(`/v1/tasks/${parent.id}/complete`).set(user.auth).expect(200);
    await create(user, { title: "late addition", parentId: parent.id });
    expect(await read(user, parent.id)).toMatchObject({ completed: false, completedAt: null, version: 3 });
  });

  it("when an open task is moved under a completed parent, then the parent is reopened; a completed one leaves it", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const done = await create(user, { title: "done" });
    const open = await create(user, { title: "open" });
    await api.request.post(`/v1/tasks/${parent.id}/complete`).set(user.auth).expect(200);
    await api.request.post(`/v1/tasks/${done.id}/complete`).set(user.auth).expect(200);
    await api.request.patch(`/v1/tasks/${done.id}`).set(user.auth).send({ parentId: parent.id }).expect(200);
    expect(await read(user, parent.id)).toMatchObject({ completed: true });
    await api.request.patch(`/v1/tasks/${open.id}`).set(user.auth).send({ parentId: parent.id }).expect(200);
    expect(await read(user, parent.id)).toMatchObject({ completed: false, completedAt: null });
  });

  it("when a parent is deleted, then its subtasks are deleted with it", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const sub = await create(user, { title: "s", parentId: parent.id, tags: ["t"] });
    const bystander = await create(user, { title: "other" });
    await api.request.delete(`/v1/tasks/${parent.id}`).set(user.auth).expect(204);
    expectProblem(await api.request.get(`/v1/tasks/${sub.id}`).set(user.auth), 404, "not-found");
    expect(await api.prisma.task.findMany({ where: { userId: user.id }, select: { id: true } })).toEqual([
      { id: bystander.id },
    ]);
  });

  it("when a subtask is deleted, then its parent stays", async () => {
    const user = await api.signUp();
    const parent = await create(user, { title: "p" });
    const sub = await create(user, { title: "s", parentId: parent.id });
    await api.request.delete(`/v1/tasks/${sub.id}`).set(user.auth).expect(204);
    expect(await read(user, parent.id)).toEqual(parent);
  });
});

describe("Idempotency-Key", () => {
  it("when a create is retried with the same key and body, then the first response is replayed and nothing new is created", async () => {
    const user = await api.signUp();
    const body = { title: "once", tags: ["a"], dueAt: "2026-12-01" };
    const first = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "create-1")
      .send(body)
      .expect(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const retry = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "create-1")
      .send(body)
      .expect(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.location).toBe(first.headers.location);
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
    expect(await taskCount(user)).toBe(1);
  });

  it("when the retry's body has the same fields in another order, then it is the same request and is replayed", async () => {
    const user = await api.signUp();
    const first = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "t", priority: "low" })
      .expect(201);
    const retry = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .set("Content-Type", "application/json")
      .send('{ "priority": "low",  "title": "t" }')
      .expect(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect(await taskCount(user)).toBe(1);
  });

  it("when the task changed after the first response, then a retry still replays the first response and changes nothing", async () => {
    const user = await api.signUp();
    const first = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "t" })
      .expect(201);
    const id = task(first).id;
    await api.request.patch(`/v1/tasks/${id}`).set(user.auth).send({ title: "changed" }).expect(200);
    const current = await read(user, id);
    const retry = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "t" })
      .expect(201);
    expect(retry.body).toEqual(first.body);
    expect(await read(user, id)).toEqual(current);
  });

  it("when the same key comes with another body, then 422 idempotency-key-reused and nothing changes", async () => {
    const user = await api.signUp();
    const first = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "first" })
      .expect(201);
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "second" });
    expectProblem(res, 422, "idempotency-key-reused");
    expect(await taskCount(user)).toBe(1);
    expect(await read(user, task(first).id)).toEqual(task(first));
  });

  it("when the same key is used on another route, then 422 idempotency-key-reused and nothing changes", async () => {
    const user = await api.signUp();
    const created = task(
      await api.request
        .post("/v1/tasks")
        .set(user.auth)
        .set("Idempotency-Key", "k")
        .send({ title: "t" })
        .expect(201),
    );
    const res = await api.request
      .post(`/v1/tasks/${created.id}/complete`)
      .set(user.auth)
      .set("Idempotency-Key", "k");
    expectProblem(res, 422, "idempotency-key-reused");
    expect(await read(user, created.id)).toEqual(created);
  });

  it("when many requests with one key arrive at once, then exactly one task is created and all answer with it", async () => {
    const user = await api.signUp();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.request
          .post("/v1/tasks")
          .set(user.auth)
          .set("Idempotency-Key", "burst")
          .send({ title: "burst" })
          .then(),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 201));
    expect(new Set(responses.map((r) => task(r).id)).size).toBe(1);
    expect(responses.filter((r) => r.headers["idempotent-replayed"] === undefined)).toHaveLength(1);
    expect(await taskCount(user)).toBe(1);
  });

  it("when a complete is retried with its key after the task was reopened, then the first response is replayed and the task stays open", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    const first = await api.request
      .post(`/v1/tasks/${created.id}/complete`)
      .set(user.auth)
      .set("Idempotency-Key", "done-1")
      .expect(200);
    const reopened = task(
      await api.request.post(`/v1/tasks/${created.id}/reopen`).set(user.auth).expect(200),
    );
    const retry = await api.request
      .post(`/v1/tasks/${created.id}/complete`)
      .set(user.auth)
      .set("Idempotency-Key", "done-1")
      .expect(200);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.etag).toBe(first.headers.etag);
    expect(retry.body).toEqual(first.body);
    expect(await read(user, created.id)).toEqual(reopened);
  });

  it("when a reopen is retried with its key, then it is replayed and the version does not move", async () => {
    const user = await api.signUp();
    const created = await create(user, { title: "t" });
    await api.request.post(`/v1/tasks/${created.id}/complete`).set(user.auth).expect(200);
    const first = await api.request
      .post(`/v1/tasks/${created.id}/reopen`)
      .set(user.auth)
      .set("Idempotency-Key", "open-1")
      .expect(200);
    const retry = await api.request
      .post(`/v1/tasks/${created.id}/reopen`)
      .set(user.auth)
      .set("Idempotency-Key", "open-1")
      .expect(200);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.body).toEqual(first.body);
    expect((await read(user, created.id)).version).toBe(3);
  });

  it("when a request with a key is rejected, then the key is not used up and a corrected retry creates the task", async () => {
    const user = await api.signUp();
    const rejected = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "t", listId: randomUUID() });
    expectProblem(rejected, 422, "validation-failed", ["/listId"]);
    expect(await taskCount(user)).toBe(0);
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k")
      .send({ title: "t" })
      .expect(201);
    expect(res.headers["idempotent-replayed"]).toBeUndefined();
    expect(await taskCount(user)).toBe(1);
  });

  it.each([
    ["with a space", "has space"],
    ["longer than 255 characters", "k".repeat(256)],
  ])("when the key is %s, then 400 and nothing is created", async (_case, key) => {
    const user = await api.signUp();
    const res = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", key)
      .send({ title: "t" });
    expectProblem(res, 400, "bad-request", ["/idempotency-key"]);
    expect(await taskCount(user)).toBe(0);
  });

  it("when different keys are used, then each creates its own task", async () => {
    const user = await api.signUp();
    await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "a")
      .send({ title: "t" })
      .expect(201);
    await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "b")
      .send({ title: "t" })
      .expect(201);
    expect(await taskCount(user)).toBe(2);
  });
});
