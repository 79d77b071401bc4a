import { nextOccurrence, validateRecurrence, type Occurrence } from "@taskmesh/recurrence";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

interface Task {
  dueAt: string;
  recurrence: string;
  allDay?: boolean;
  remindAt?: string | null;
}

function toOccurrence(task: Task): Occurrence {
  return {
    dueAt: new Date(task.dueAt),
    allDay: task.allDay ?? false,
    recurrence: task.recurrence,
    remindAt: task.remindAt ? new Date(task.remindAt) : null,
  };
}

function fromOccurrence(occurrence: Occurrence): Required<Task> {
  return {
    dueAt: occurrence.dueAt.toISOString(),
    recurrence: occurrence.recurrence,
    allDay: occurrence.allDay,
    remindAt: occurrence.remindAt?.toISOString() ?? null,
  };
}

/** The next task of the series, or what ended it. */
function next(task: Task, timeZone: string): Required<Task> | string {
  const result = nextOccurrence(toOccurrence(task), timeZone);
  return result.kind === "next" ? fromOccurrence(result.occurrence) : `${result.kind}: ${result.reason}`;
}

/** The due instants of `n` tasks of a series, starting with the given one (fewer if it ends). */
function series(task: Task, timeZone: string, n: number): string[] {
  const dueAts = [new Date(task.dueAt).toISOString()];
  let current: Task = task;
  while (dueAts.length < n) {
    const following = next(current, timeZone);
    if (typeof following === "string") break;
    dueAts.push(following.dueAt);
    current = following;
  }
  return dueAts;
}

describe("nextOccurrence: frequencies", () => {
  it("when a daily task is completed, then the next is due a day later at the same time", () => {
    expect(next({ dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=DAILY" }, "UTC")).toEqual({
      dueAt: "2027-01-11T09:00:00.000Z",
      recurrence: "FREQ=DAILY",
      allDay: false,
      remindAt: null,
    });
  });

  it("when the rule has an INTERVAL, then tasks are that many periods apart", () => {
    expect(series({ dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=DAILY;INTERVAL=3" }, "UTC", 3)).toEqual([
      "2027-01-10T09:00:00.000Z",
      "2027-01-13T09:00:00.000Z",
      "2027-01-16T09:00:00.000Z",
    ]);
  });

  it("when a weekly rule names days (BYDAY), then tasks land on those weekdays in the owner's zone", () => {
    // Mon 4 Jan 2027, 09:00 in Berlin (CET, UTC+1).
    expect(
      series({ dueAt: "2027-01-04T08:00:00Z", recurrence: "FREQ=WEEKLY;BYDAY=MO,WE,FR" }, "Europe/Berlin", 5),
    ).toEqual([
      "2027-01-04T08:00:00.000Z",
      "2027-01-06T08:00:00.000Z",
      "2027-01-08T08:00:00.000Z",
      "2027-01-11T08:00:00.000Z",
      "2027-01-13T08:00:00.000Z",
    ]);
  });

  it("when the weekday differs in UTC, then BYDAY still means the owner's weekday", () => {
    // Mon 4 Jan 2027, 00:30 in Berlin is Sunday 23:30 UTC.
    expect(
      series({ dueAt: "2027-01-03T23:30:00Z", recurrence: "FREQ=WEEKLY;BYDAY=MO" }, "Europe/Berlin", 2),
    ).toEqual(["2027-01-03T23:30:00.000Z", "2027-01-10T23:30:00.000Z"]);
  });

  it("when a weekly rule has INTERVAL=2 and two days, then both days of every other week follow", () => {
    expect(
      series({ dueAt: "2027-01-04T09:00:00Z", recurrence: "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE" }, "UTC", 5),
    ).toEqual([
      "2027-01-04T09:00:00.000Z",
      "2027-01-06T09:00:00.000Z",
      "2027-01-18T09:00:00.000Z",
      "2027-01-20T09:00:00.000Z",
      "2027-02-01T09:00:00.000Z",
    ]);
  });

  it("when the first task is not on a rule day, then it still counts and the next is the first rule day after it", () => {
    // Tuesday, rule says Mondays.
    expect(series({ dueAt: "2027-01-05T09:00:00Z", recurrence: "FREQ=WEEKLY;BYDAY=MO" }, "UTC", 3)).toEqual([
      "2027-01-05T09:00:00.000Z",
      "2027-01-11T09:00:00.000Z",
      "2027-01-18T09:00:00.000Z",
    ]);
  });

  it("when a monthly task is due on the 31st, then months without a 31st are skipped (RFC 5545)", () => {
    expect(series({ dueAt: "2027-01-31T09:00:00Z", recurrence: "FREQ=MONTHLY" }, "UTC", 4)).toEqual([
      "2027-01-31T09:00:00.000Z",
      "2027-03-31T09:00:00.000Z",
      "2027-05-31T09:00:00.000Z",
      "2027-07-31T09:00:00.000Z",
    ]);
  });

  it("when a monthly rule says BYMONTHDAY=-1, then every task is on the last day of its month", () => {
    expect(
      series({ dueAt: "2027-01-31T09:00:00Z", recurrence: "FREQ=MONTHLY;BYMONTHDAY=-1" }, "UTC", 4),
    ).toEqual([
      "2027-01-31T09:00:00.000Z",
      "2027-02-28T09:00:00.000Z",
      "2027-03-31T09:00:00.000Z",
      "2027-04-30T09:00:00.000Z",
    ]);
  });

  it("when a monthly rule says BYDAY=2TU, then every task is on the second Tuesday", () => {
    expect(series({ dueAt: "2027-01-12T09:00:00Z", recurrence: "FREQ=MONTHLY;BYDAY=2TU" }, "UTC", 3)).toEqual(
      ["2027-01-12T09:00:00.000Z", "2027-02-09T09:00:00.000Z", "2027-03-09T09:00:00.000Z"],
    );
  });

  it("when a yearly task is due on 29 February, then the next is in the next leap year", () => {
    expect(series({ dueAt: "2028-02-29T09:00:00Z", recurrence: "FREQ=YEARLY" }, "UTC", 3)).toEqual([
      "2028-02-29T09:00:00.000Z",
      "2032-02-29T09:00:00.000Z",
      "2036-02-29T09:00:00.000Z",
    ]);
  });

  it("when a yearly rule names a month and a weekday, then it means that weekday in that month", () => {
    // Thanksgiving: the fourth Thursday of November.
    expect(
      series({ dueAt: "2027-11-25T17:00:00Z", recurrence: "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH" }, "UTC", 3),
    ).toEqual(["2027-11-25T17:00:00.000Z", "2028-11-23T17:00:00.000Z", "2029-11-22T17:00:00.000Z"]);
  });

  it("when an hourly rule has an INTERVAL, then tasks are that many hours apart", () => {
    expect(series({ dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=HOURLY;INTERVAL=8" }, "UTC", 3)).toEqual(
      ["2027-01-10T09:00:00.000Z", "2027-01-10T17:00:00.000Z", "2027-01-11T01:00:00.000Z"],
    );
  });

  it("when dueAt has milliseconds, then the next task keeps them", () => {
    expect(next({ dueAt: "2027-01-10T09:00:00.250Z", recurrence: "FREQ=DAILY" }, "UTC")).toMatchObject({
      dueAt: "2027-01-11T09:00:00.250Z",
    });
  });
});

describe("nextOccurrence: the end of a series", () => {
  it("when the rule has COUNT=3, then the next task has COUNT=2 and the series has three tasks in all", () => {
    const first = { dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=DAILY;COUNT=3" };
    expect(next(first, "UTC")).toMatchObject({ recurrence: "FREQ=DAILY;COUNT=2" });
    expect(series(first, "UTC", 10)).toEqual([
      "2027-01-10T09:00:00.000Z",
      "2027-01-11T09:00:00.000Z",
      "2027-01-12T09:00:00.000Z",
    ]);
  });

  it("when the rule has COUNT=1, then the series has ended", () => {
    expect(next({ dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=DAILY;COUNT=1" }, "UTC")).toMatch(
      /^ended: COUNT/,
    );
  });

  it("when UNTIL is a date, then the whole local date is included", () => {
    // 09:00 in Berlin each day until 5 January.
    expect(
      series({ dueAt: "2027-01-03T08:00:00Z", recurrence: "FREQ=DAILY;UNTIL=20270105" }, "Europe/Berlin", 10),
    ).toEqual(["2027-01-03T08:00:00.000Z", "2027-01-04T08:00:00.000Z", "2027-01-05T08:00:00.000Z"]);
  });

  it("when UNTIL is a date and the owner's evening is the next UTC day, then the local date decides", () => {
    // 20:00 in Los Angeles (UTC-8) is 04:00 UTC on the next day.
    expect(
      series(
        { dueAt: "2027-01-04T04:00:00Z", recurrence: "FREQ=DAILY;UNTIL=20270105" },
        "America/Los_Angeles",
        10,
      ),
    ).toEqual(["2027-01-04T04:00:00.000Z", "2027-01-05T04:00:00.000Z", "2027-01-06T04:00:00.000Z"]);
  });

  it("when UNTIL is a UTC date-time, then it is an instant and included", () => {
    const task = { dueAt: "2027-01-03T08:00:00Z", recurrence: "FREQ=DAILY;UNTIL=20270105T080000Z" };
    expect(series(task, "Europe/Berlin", 10)).toHaveLength(3);
    expect(
      series({ ...task, recurrence: "FREQ=DAILY;UNTIL=20270105T075959Z" }, "Europe/Berlin", 10),
    ).toHaveLength(2);
  });

  it("when UNTIL is a local date-time, then it is wall-clock time in the owner's zone", () => {
    const task = { dueAt: "2027-01-03T08:00:00Z", recurrence: "FREQ=DAILY;UNTIL=20270105T090000" };
    expect(series(task, "Europe/Berlin", 10)).toHaveLength(3);
    expect(
      series({ ...task, recurrence: "FREQ=DAILY;UNTIL=20270105T085959" }, "Europe/Berlin", 10),
    ).toHaveLength(2);
  });

  it("when the rule is not valid, then nothing is computed", () => {
    expect(next({ dueAt: "2027-01-10T09:00:00Z", recurrence: "FREQ=SOMETIMES" }, "UTC")).toMatch(/^invalid:/);
  });
});

describe("nextOccurrence: daylight saving time", () => {
  it("when a daily 09:00 task in Berlin crosses spring-forward, then it stays at 09:00 local", () => {
    // DST starts on Sunday 28 March 2027: 09:00 is 08:00 UTC before, 07:00 UTC after.
    expect(series({ dueAt: "2027-03-27T08:00:00Z", recurrence: "FREQ=DAILY" }, "Europe/Berlin", 3)).toEqual([
      "2027-03-27T08:00:00.000Z",
      "2027-03-28T07:00:00.000Z",
      "2027-03-29T07:00:00.000Z",
    ]);
  });

  it("when a daily 09:00 task in Berlin crosses fall-back, then it stays at 09:00 local", () => {
    // DST ends on Sunday 31 October 2027.
    expect(series({ dueAt: "2027-10-30T07:00:00Z", recurrence: "FREQ=DAILY" }, "Europe/Berlin", 3)).toEqual([
      "2027-10-30T07:00:00.000Z",
      "2027-10-31T08:00:00.000Z",
      "2027-11-01T08:00:00.000Z",
    ]);
  });

  it("when a weekly 08:30 task in New York crosses both changes, then it stays at 08:30 local", () => {
    // DST starts on 14 March 2027 and ends on 7 November 2027 in the US.
    expect(
      series({ dueAt: "2027-03-07T13:30:00Z", recurrence: "FREQ=WEEKLY" }, "America/New_York", 2),
    ).toEqual(["2027-03-07T13:30:00.000Z", "2027-03-14T12:30:00.000Z"]);
    expect(
      series({ dueAt: "2027-10-31T12:30:00Z", recurrence: "FREQ=WEEKLY" }, "America/New_York", 2),
    ).toEqual(["2027-10-31T12:30:00.000Z", "2027-11-07T13:30:00.000Z"]);
  });

  it("when a task's time falls into the spring-forward gap in Berlin, then it moves past the gap once and the series keeps its time", () => {
    // 02:30 does not exist on 28 March 2027 in Berlin: that task is due at 03:30 CEST.
    const first = { dueAt: "2027-03-27T01:30:00Z", recurrence: "FREQ=DAILY" };
    const inGap = next(first, "Europe/Berlin");
    expect(inGap).toEqual({
      dueAt: "2027-03-28T01:30:00.000Z",
      recurrence: "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0",
      allDay: false,
      remindAt: null,
    });
    expect(series(first, "Europe/Berlin", 4)).toEqual([
      "2027-03-27T01:30:00.000Z",
      "2027-03-28T01:30:00.000Z",
      "2027-03-29T00:30:00.000Z",
      "2027-03-30T00:30:00.000Z",
    ]);
  });

  it("when a task's time falls into the spring-forward gap in New York, then it is due an hour later that day", () => {
    // 02:30 does not exist on 14 March 2027 in New York: 03:30 EDT = 07:30 UTC.
    expect(
      series({ dueAt: "2027-03-13T07:30:00Z", recurrence: "FREQ=DAILY" }, "America/New_York", 3),
    ).toEqual(["2027-03-13T07:30:00.000Z", "2027-03-14T07:30:00.000Z", "2027-03-15T06:30:00.000Z"]);
  });

  it("when a task's time happens twice at fall-back, then the first of the two is taken", () => {
    // 02:30 on 31 October 2027 in Berlin: first at CEST (00:30 UTC), again at CET (01:30 UTC).
    expect(series({ dueAt: "2027-10-30T00:30:00Z", recurrence: "FREQ=DAILY" }, "Europe/Berlin", 3)).toEqual([
      "2027-10-30T00:30:00.000Z",
      "2027-10-31T00:30:00.000Z",
      "2027-11-01T01:30:00.000Z",
    ]);
    // 01:30 on 7 November 2027 in New York: first at EDT (05:30 UTC).
    expect(
      series({ dueAt: "2027-11-06T05:30:00Z", recurrence: "FREQ=DAILY" }, "America/New_York", 3),
    ).toEqual(["2027-11-06T05:30:00.000Z", "2027-11-07T05:30:00.000Z", "2027-11-08T06:30:00.000Z"]);
  });

  it("when the reminder is the evening before, then it keeps its local time across a DST change", () => {
    // Monday 22 March 2027 09:00 CET, reminder Sunday 18:00 CET; a week later both are CEST.
    expect(
      next(
        { dueAt: "2027-03-22T08:00:00Z", recurrence: "FREQ=WEEKLY", remindAt: "2027-03-21T17:00:00Z" },
        "Europe/Berlin",
      ),
    ).toMatchObject({ dueAt: "2027-03-29T07:00:00.000Z", remindAt: "2027-03-28T16:00:00.000Z" });
  });
});

describe("nextOccurrence: all-day tasks", () => {
  it("when an all-day task in Berlin crosses spring-forward, then each task is due at the start of the next local date", () => {
    // All-day 27 March 2027 starts at 23:00 UTC the day before (CET); after the change, at 22:00 UTC.
    expect(
      series({ dueAt: "2027-03-26T23:00:00Z", recurrence: "FREQ=DAILY", allDay: true }, "Europe/Berlin", 3),
    ).toEqual(["2027-03-26T23:00:00.000Z", "2027-03-27T23:00:00.000Z", "2027-03-28T22:00:00.000Z"]);
  });

  it("when an all-day weekly task names days, then it lands on those local dates", () => {
    // All-day Friday 8 January 2027 in New York (starts 05:00 UTC).
    expect(
      series(
        { dueAt: "2027-01-08T05:00:00Z", recurrence: "FREQ=WEEKLY;BYDAY=MO,FR", allDay: true },
        "America/New_York",
        3,
      ),
    ).toEqual(["2027-01-08T05:00:00.000Z", "2027-01-11T05:00:00.000Z", "2027-01-15T05:00:00.000Z"]);
  });

  it("when an all-day monthly task is on the 31st, then it keeps the date and skips short months", () => {
    expect(
      series({ dueAt: "2027-01-30T23:00:00Z", recurrence: "FREQ=MONTHLY", allDay: true }, "Europe/Berlin", 3),
    ).toEqual(["2027-01-30T23:00:00.000Z", "2027-03-30T22:00:00.000Z", "2027-05-30T22:00:00.000Z"]);
  });

  it("when the owner's zone skips midnight on the next date, then that task starts when the date does", () => {
    // Chile moves from 00:00 to 01:00 on 5 September 2027: that date starts at 01:00 -03 = 04:00 UTC.
    expect(
      series(
        { dueAt: "2027-09-04T04:00:00Z", recurrence: "FREQ=DAILY", allDay: true },
        "America/Santiago",
        3,
      ),
    ).toEqual(["2027-09-04T04:00:00.000Z", "2027-09-05T04:00:00.000Z", "2027-09-06T03:00:00.000Z"]);
  });

  it("when an all-day task has a reminder at 09:00 on the day, then the next one's reminder is at 09:00 on its day", () => {
    expect(
      next(
        {
          dueAt: "2027-03-26T23:00:00Z",
          recurrence: "FREQ=DAILY",
          allDay: true,
          remindAt: "2027-03-27T08:00:00Z",
        },
        "Europe/Berlin",
      ),
    ).toMatchObject({
      dueAt: "2027-03-27T23:00:00.000Z",
      remindAt: "2027-03-28T07:00:00.000Z",
      allDay: true,
    });
  });

  it("when an all-day task has UNTIL as a date, then that date is the last", () => {
    expect(
      series(
        { dueAt: "2027-01-02T23:00:00Z", recurrence: "FREQ=DAILY;UNTIL=20270105", allDay: true },
        "Europe/Berlin",
        10,
      ),
    ).toEqual(["2027-01-02T23:00:00.000Z", "2027-01-03T23:00:00.000Z", "2027-01-04T23:00:00.000Z"]);
  });
});

describe("nextOccurrence: agrees with task-api's validation", () => {
  const zones = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
  ];
  const rules = [
    "FREQ=DAILY",
    "FREQ=DAILY;COUNT=4",
    "FREQ=WEEKLY;BYDAY=MO,TH",
    "FREQ=WEEKLY;INTERVAL=2;UNTIL=20300101",
    "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20300101T000000Z",
    "FREQ=MONTHLY;BYDAY=1SU",
    "FREQ=YEARLY;UNTIL=20350615T120000",
    "FREQ=HOURLY;INTERVAL=7",
  ];

  it("when any next task is computed, then it is later than the one before and task-api would accept its rule", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom(...rules),
        fc.date({
          min: new Date("2026-01-01T00:00:00Z"),
          max: new Date("2029-12-31T00:00:00Z"),
          noInvalidDate: true,
        }),
        fc.boolean(),
        (zone, rule, dueAt, allDay) => {
          const result = nextOccurrence({ dueAt, allDay, recurrence: rule, remindAt: null }, zone);
          if (result.kind !== "next") return;
          expect(result.occurrence.dueAt.getTime()).toBeGreaterThan(dueAt.getTime());
          expect(
            validateRecurrence(result.occurrence.recurrence, {
              dueAt: result.occurrence.dueAt,
              allDay,
              timeZone: zone,
            }),
          ).toMatchObject({ ok: true });
        },
      ),
      { numRuns: 500 },
    );
  });
});
