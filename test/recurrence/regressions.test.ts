import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { boundedEvaluator } from "./bounded-worker.ts";

/**
 * Rules that hung or crawled with rrule 2.8.1 (its after() looped forever when INTERVAL and
 * BYHOUR never meet, and searched to the year 9999 for rules that never match). Each case runs
 * in a worker thread with a hard limit: a rule that does not return fails its case instead of
 * hanging the run.
 */

const LIMIT_MS = 1000;
const evaluator = boundedEvaluator();
beforeAll(() => evaluator.warmUp(), 60_000);
afterAll(() => evaluator.close());

function validate(rule: string, dueAt: string, timeZone = "UTC", allDay = false) {
  return evaluator.evaluate({ fn: "validateRecurrence", rule, dueAt, timeZone, allDay }, LIMIT_MS);
}

function next(rule: string, dueAt: string, timeZone = "UTC", allDay = false) {
  return evaluator.evaluate({ fn: "nextOccurrence", rule, dueAt, timeZone, allDay }, LIMIT_MS);
}

const NINE = "2026-12-01T09:00:00Z";

describe("rules that never yield an occurrence are refused promptly", () => {
  it.each([
    ["INTERVAL=2 and BYHOUR=18 never meet from 09:00 (rrule issue #653)", "FREQ=HOURLY;INTERVAL=2;BYHOUR=18"],
    ["INTERVAL=24 keeps 09:00, BYHOUR=18 asks for another hour", "FREQ=HOURLY;INTERVAL=24;BYHOUR=18"],
    ["INTERVAL=24 keeps 09:00, BYHOUR=10 asks for another hour", "FREQ=HOURLY;INTERVAL=24;BYHOUR=10"],
    ["INTERVAL=48 with BYHOUR=8", "FREQ=HOURLY;INTERVAL=48;BYHOUR=8"],
    ["30 February, daily", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"],
    ["30 February, yearly", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"],
    ["30 February, hourly", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30"],
    ["a fifth Monday that is also the 1st or 2nd", "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1,2"],
    ["day 366 in January", "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1"],
  ])("when the rule is %s, then validation refuses it within the limit and says why", async (_, rule) => {
    const { result } = await validate(rule, NINE);
    expect(result).toMatchObject({
      ok: false,
      kind: "series",
      reason: expect.stringMatching(/within 10 years|more than/) as unknown,
    });
  });

  it("when such a rule was stored before (a task from before this check), then nextOccurrence answers unevaluable within the limit", async () => {
    const { result } = await next("FREQ=HOURLY;INTERVAL=2;BYHOUR=18", NINE);
    expect(result).toMatchObject({ kind: "unevaluable" });
  });
});

describe("a rule fine in UTC but not in the owner's zone", () => {
  // 18:00 UTC is 19:00 in Berlin: every 2 hours from 19:00 is always an odd hour.
  const rule = "FREQ=HOURLY;INTERVAL=2;BYHOUR=18";
  const dueAt = "2026-12-01T18:00:00Z";

  it("when the owner lives in UTC, then it is accepted and the next task is a day later", async () => {
    expect((await validate(rule, dueAt, "UTC")).result).toMatchObject({ ok: true, value: rule });
    expect((await next(rule, dueAt, "UTC")).result).toMatchObject({
      kind: "next",
      occurrence: { dueAt: "2026-12-02T18:00:00.000Z" },
    });
  });

  it("when the owner lives in Berlin, then validation refuses it naming the zone, and nextOccurrence is unevaluable", async () => {
    expect((await validate(rule, dueAt, "Europe/Berlin")).result).toMatchObject({
      ok: false,
      kind: "series",
      reason: expect.stringContaining("Europe/Berlin") as unknown,
    });
    expect((await next(rule, dueAt, "Europe/Berlin")).result).toMatchObject({ kind: "unevaluable" });
  });

  it("when the same instant is a date-only task, then BYHOUR still decides in the owner's zone", async () => {
    // All-day tasks start at local midnight; HOURLY;INTERVAL=2 from 00:00 reaches 18:00.
    expect((await validate(rule, "2026-11-30T23:00:00Z", "Europe/Berlin", true)).result).toMatchObject({
      ok: true,
    });
  });
});

describe("the horizon: 10 years past dueAt", () => {
  it("when a task repeats every 10 years, then it is accepted", async () => {
    expect((await validate("FREQ=YEARLY;INTERVAL=10", NINE)).result).toMatchObject({ ok: true });
    expect((await next("FREQ=YEARLY;INTERVAL=10", NINE)).result).toMatchObject({
      occurrence: { dueAt: "2036-12-01T09:00:00.000Z" },
    });
  });

  it("when a task repeats every 11 years, then it is refused: its next task is past the horizon", async () => {
    expect((await validate("FREQ=YEARLY;INTERVAL=11", NINE)).result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no next task could follow/) as unknown,
    });
  });

  it("when a yearly 29 February task meets 2100 (not a leap year), then the 8-year gap is within the horizon", async () => {
    expect((await next("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "2096-02-29T09:00:00Z")).result).toMatchObject({
      occurrence: { dueAt: "2104-02-29T09:00:00.000Z" },
    });
  });

  it("when a series ends by UNTIL before its next task, then it is accepted and ends (not unevaluable)", async () => {
    expect((await validate("FREQ=YEARLY;UNTIL=20270101", NINE)).result).toMatchObject({ ok: true });
    expect((await next("FREQ=YEARLY;UNTIL=20270101", NINE)).result).toMatchObject({ kind: "ended" });
  });
});

describe("rules that expand many candidates stay within the limit", () => {
  const all = (n: number) => Array.from({ length: n }, (_, i) => i).join(",");
  it.each([
    `FREQ=HOURLY;INTERVAL=2;BYHOUR=18;BYMINUTE=${all(60)};BYSECOND=${all(60)}`,
    `FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;BYMINUTE=${all(60)}`,
    `FREQ=DAILY;BYHOUR=${all(24)};BYMINUTE=${all(60)};BYSETPOS=-366,366`,
    `FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=${all(24)};BYMINUTE=${all(60)};BYSETPOS=-1`,
    `FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=${all(24)};BYMINUTE=${all(60)};BYSETPOS=-1`,
  ])("when the rule is %s, then validation and nextOccurrence both return within the limit", async (rule) => {
    for (const zone of ["UTC", "Europe/Berlin"]) {
      await validate(rule, NINE, zone);
      await next(rule, NINE, zone);
    }
  });
});
