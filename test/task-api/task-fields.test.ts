import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, taskOf, useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * A task's tags, due dates (all-day and timed, in the user's time zone) and recurrence, on create
 * and patch. Every test signs up its own user.
 */

const api = useTaskApi();
const { createTask, readTask, taskCount } = taskApiFixtures(api);

describe("tags", () => {
  it("when tags differ only in case in one request, then one tag is kept, spelled as first given", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", tags: ["Work", "work", "WORK"] });
    expect(created.tags).toEqual(["Work"]);
    expect(await api.prisma.tag.count({ where: { userId: user.id } })).toBe(1);
  });

  it("when a later task names an existing tag in another case, then the tag keeps its first spelling", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "first", tags: ["ProjectX"] });
    const second = await createTask(user, { title: "second", tags: [" projectx "] });
    expect(second.tags).toEqual(["ProjectX"]);
    const tags = await api.as(user).get("/v1/tags").expect(200);
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
    const res = await api.as(user).post("/v1/tasks", { title: "t", tags: ["fine", bad] });
    expectProblem(res, 422, "validation-failed", ["/tags/1"]);
    expect(await taskCount(user)).toBe(0);
    expect(await api.prisma.tag.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when a patch replaces the tags, then the task has exactly the new ones", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", tags: ["a", "b"] });
    const patched = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, { tags: ["B", "c"] })
      .expect(200);
    expect(taskOf(patched).tags).toEqual(["b", "c"]);
    expect(taskOf(patched).version).toBe(2);
    const cleared = await api.as(user).patch(`/v1/tasks/${created.id}`, { tags: [] }).expect(200);
    expect(taskOf(cleared).tags).toEqual([]);
  });
});

describe("due dates", () => {
  it("when dueAt is a date, then the task is all-day from the start of that date in the user's time zone", async () => {
    const user = await api.signUp({ timeZone: "America/New_York" });
    const created = await createTask(user, { title: "t", dueAt: "2026-07-04" });
    expect(created).toMatchObject({ dueAt: "2026-07-04T04:00:00.000Z", allDay: true, dueDate: "2026-07-04" });
  });

  it("when dueAt is an instant with an offset, then it is stored in UTC and dueDate is its date in the user's zone", async () => {
    const user = await api.signUp({ timeZone: "Asia/Tokyo" });
    const created = await createTask(user, { title: "t", dueAt: "2026-12-01T20:00:00-05:00" });
    expect(created).toMatchObject({
      dueAt: "2026-12-02T01:00:00.000Z",
      allDay: false,
      dueDate: "2026-12-02",
    });
  });

  it("when allDay is true with an instant, then dueAt moves to the start of that instant's date in the user's zone", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const created = await createTask(user, { title: "t", dueAt: "2026-12-01T15:30:00Z", allDay: true });
    expect(created).toMatchObject({ dueAt: "2026-11-30T23:00:00.000Z", allDay: true, dueDate: "2026-12-01" });
  });

  it("when allDay contradicts dueAt, then 422 naming /allDay and nothing is created", async () => {
    const user = await api.signUp();
    expectProblem(
      await api.as(user).post("/v1/tasks", { title: "t", dueAt: "2026-12-01", allDay: false }),
      422,
      "validation-failed",
      ["/allDay"],
    );
    expectProblem(
      await api.as(user).post("/v1/tasks", { title: "t", allDay: true }),
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
    ["an offset PostgreSQL refuses", { dueAt: "2026-12-01T09:00:00-22:59" }, "/dueAt"],
    ["an offset past +14:00", { dueAt: "2026-12-01T09:00:00+14:01" }, "/dueAt"],
    ["a reminder with an offset past -14:00", { remindAt: "2026-12-01T09:00:00-16:00" }, "/remindAt"],
  ])(
    "when the due date or reminder is %s, then 422 naming it and nothing is created",
    async (_case, fields, pointer) => {
      const user = await api.signUp();
      const res = await api.as(user).post("/v1/tasks", { title: "t", ...fields });
      expectProblem(res, 422, "validation-failed", [pointer]);
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when an offset is past ±14:00, then the 422 says the real-world range, and ±14:00 itself is taken", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "t", dueAt: "2026-12-01T09:00:00+23:59" });
    const body = expectProblem(res, 422, "validation-failed", ["/dueAt"]);
    expect(body.detail).toContain("/dueAt: must have a UTC offset between -14:00 and +14:00");
    const east = await createTask(user, { title: "east", dueAt: "2026-12-01T09:00:00+14:00" });
    const west = await createTask(user, { title: "west", remindAt: "2026-12-01T09:00:00-14:00" });
    expect(east.dueAt).toBe("2026-11-30T19:00:00.000Z");
    expect(west.remindAt).toBe("2026-12-01T23:00:00.000Z");
  });

  it("when the user moves to another time zone, then all-day tasks keep their date and timed tasks their instant", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const allDay = await createTask(user, { title: "all day", dueAt: "2026-12-01" });
    const timed = await createTask(user, { title: "timed", dueAt: "2026-12-01T10:00:00Z" });
    await api.as(user).patch("/v1/me", { timeZone: "America/Los_Angeles" }).expect(200);
    const movedAllDay = await readTask(user, allDay.id);
    expect(movedAllDay).toMatchObject({
      dueDate: "2026-12-01",
      dueAt: "2026-12-01T08:00:00.000Z",
      allDay: true,
      version: 2,
    });
    expect(await readTask(user, timed.id)).toMatchObject({
      dueAt: "2026-12-01T10:00:00.000Z",
      dueDate: "2026-12-01",
      version: 1,
    });
  });

  it("when the user's new time zone is not an IANA zone, then 422 naming /timeZone and no task moves", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const allDay = await createTask(user, { title: "all day", dueAt: "2026-12-01" });
    const res = await api.as(user).patch("/v1/me", { timeZone: "Mars/Olympus_Mons" });
    expectProblem(res, 422, "validation-failed", ["/timeZone"]);
    expect(await readTask(user, allDay.id)).toEqual(allDay);
    const me = await api.as(user).get("/v1/me").expect(200);
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
    expect((await createTask(user, { title: "t", dueAt: "2026-12-01", recurrence: rule })).recurrence).toBe(
      stored,
    );
  });

  it("when a recurrence is given without a dueAt, then 422 naming /recurrence and nothing is created", async () => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tasks", { title: "t", recurrence: "FREQ=DAILY" });
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
      const res = await api.as(user).post("/v1/tasks", { title: "t", dueAt: "2026-12-01", recurrence: rule });
      expectProblem(res, 422, "validation-failed", ["/recurrence"]);
      expect(await taskCount(user)).toBe(0);
    },
  );

  it("when a patch clears the dueAt of a recurring task, then 422 naming /dueAt and the task is unchanged", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api.as(user).patch(`/v1/tasks/${created.id}`, { dueAt: null });
    expectProblem(res, 422, "validation-failed", ["/dueAt"]);
    expect(await readTask(user, created.id)).toEqual(created);
  });

  it("when a patch sets an invalid RRULE, then 422 and the task keeps its recurrence", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api.as(user).patch(`/v1/tasks/${created.id}`, { recurrence: "FREQ=DAILY;INTERVAL=0" });
    expectProblem(res, 422, "validation-failed", ["/recurrence"]);
    expect(await readTask(user, created.id)).toEqual(created);
  });

  it("when a patch clears both dueAt and recurrence, then both are cleared", async () => {
    const user = await api.signUp();
    const created = await createTask(user, { title: "t", dueAt: "2026-12-01", recurrence: "FREQ=DAILY" });
    const res = await api
      .as(user)
      .patch(`/v1/tasks/${created.id}`, { dueAt: null, recurrence: null })
      .expect(200);
    expect(taskOf(res)).toMatchObject({
      dueAt: null,
      dueDate: null,
      allDay: false,
      recurrence: null,
      version: 2,
    });
  });
});
