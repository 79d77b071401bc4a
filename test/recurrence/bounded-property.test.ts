import {
  nextOccurrence,
  parseRecurrence,
  validateRecurrence,
  type NextOccurrence,
  type RecurrenceValidation,
} from "@taskmesh/recurrence";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * Rules drawn from the whole grammar parseRecurrence accepts (and some it refuses), in many
 * zones and at many dueAts: every validation and every next-occurrence computation finishes
 * within 50 ms, and whatever task-api accepts, recurring-tasks can compute.
 */

const BUDGET_MS = 50;
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "America/Santiago",
  "Australia/Lord_Howe",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
  "Pacific/Kiritimati",
];

const list = (value: fc.Arbitrary<number | string>, max = 6) =>
  fc
    .oneof(
      { weight: 4, arbitrary: fc.array(value, { minLength: 1, maxLength: max }) },
      { weight: 1, arbitrary: fc.array(value, { minLength: 1, maxLength: 60 }) },
    )
    .map((values) => values.join(","));
const signed = (max: number) =>
  fc.tuple(fc.boolean(), fc.integer({ min: 1, max })).map(([neg, n]) => (neg ? -n : n));
const date = fc.date({
  min: new Date("2020-01-01T00:00:00Z"),
  max: new Date("2045-12-31T23:59:59Z"),
  noInvalidDate: true,
});
const until = fc.tuple(date, fc.constantFrom("date", "local", "utc")).map(([d, form]) => {
  const iso = d.toISOString().replace(/[-:]/g, "").slice(0, 15);
  return form === "date" ? iso.slice(0, 8) : form === "local" ? iso : `${iso}Z`;
});
const weekdayNum = fc
  .tuple(fc.option(signed(53), { nil: undefined, freq: 2 }), fc.constantFrom(...WEEKDAYS))
  .map(([n, day]) => `${n ?? ""}${day}`);

/** A part present in about one rule of four, so that rules stay satisfiable often enough to compute. */
const sometimes = (name: string, value: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: value.map((v) => `${name}=${v}`) },
  );

const rule = fc
  .tuple(
    fc.constantFrom("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY").map((f) => `FREQ=${f}`),
    sometimes(
      "INTERVAL",
      fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 9999 })).map(String),
    ),
    fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 9999 }).map((n) => `COUNT=${n}`) },
      { weight: 1, arbitrary: until.map((u) => `UNTIL=${u}`) },
    ),
    sometimes("BYSECOND", list(fc.integer({ min: 0, max: 60 }))),
    sometimes("BYMINUTE", list(fc.integer({ min: 0, max: 59 }))),
    sometimes("BYHOUR", list(fc.integer({ min: 0, max: 23 }))),
    sometimes("BYDAY", list(weekdayNum)),
    sometimes("BYMONTHDAY", list(signed(31))),
    sometimes("BYYEARDAY", list(signed(366))),
    sometimes("BYWEEKNO", list(signed(53))),
    sometimes("BYMONTH", list(fc.integer({ min: 1, max: 12 }))),
    sometimes("BYSETPOS", list(signed(366), 3)),
    sometimes("WKST", fc.constantFrom(...WEEKDAYS)),
  )
  .chain((parts) => {
    const present = parts.filter((p): p is string => p !== undefined);
    return fc.shuffledSubarray(present, { minLength: present.length, maxLength: present.length });
  })
  .map((parts) => parts.join(";"));

/** The fastest of three runs: a GC pause or another process on the 2 shared cores is not the rule's cost. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  let best = Number.POSITIVE_INFINITY;
  let value: T | undefined;
  for (let attempt = 0; attempt < 3 && best >= BUDGET_MS; attempt++) {
    const started = performance.now();
    value = fn();
    best = Math.min(best, performance.now() - started);
  }
  return { value: value as T, ms: best };
}

beforeAll(() => {
  // Load and JIT the code paths once, as a running service has.
  for (const r of ["FREQ=DAILY", "FREQ=HOURLY;INTERVAL=2;BYHOUR=18", "FREQ=MONTHLY;BYDAY=-1FR;BYSETPOS=1"])
    validateRecurrence(r, {
      dueAt: new Date("2026-12-01T09:00:00Z"),
      allDay: false,
      timeZone: "Europe/Berlin",
    });
});

describe("bounded evaluation over the whole grammar", () => {
  it("when any rule is validated and its next task computed, in any zone and at any dueAt, then each call finishes within 50 ms and an accepted rule can always be computed", () => {
    let accepted = 0;
    fc.assert(
      fc.property(rule, fc.constantFrom(...ZONES), date, fc.boolean(), (r, timeZone, dueAt, allDay) => {
        const validation = timed<RecurrenceValidation>(() =>
          validateRecurrence(r, { dueAt, allDay, timeZone }),
        );
        expect(validation.ms, `validateRecurrence(${r}) in ${timeZone}`).toBeLessThan(BUDGET_MS);
        // Computed whatever validation said: a stored rule may predate the check, or the zone changed.
        const next = timed<NextOccurrence>(() =>
          nextOccurrence({ dueAt, allDay, recurrence: r, remindAt: null }, timeZone),
        );
        expect(next.ms, `nextOccurrence(${r}) in ${timeZone}`).toBeLessThan(BUDGET_MS);
        if (validation.value.ok) {
          accepted++;
          expect(["next", "ended"], `${r} was accepted in ${timeZone}`).toContain(next.value.kind);
        } else if (parseRecurrence(r).ok) {
          expect(validation.value).toMatchObject({ kind: "series" });
        }
      }),
      { numRuns: 400 },
    );
    // The grammar arbitrary is not vacuous: some of what it draws is accepted.
    expect(accepted).toBeGreaterThan(10);
  });
});
