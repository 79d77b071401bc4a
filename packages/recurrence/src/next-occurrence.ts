import { DateTime } from "luxon";
import {
  joinRuleParts,
  parseRecurrence,
  ruleParts,
  ruleWithout,
  type RecurrenceResult,
} from "./recurrence.ts";
import { firstInstance, type Search } from "./search.ts";
import { startOfDate } from "./time.ts";

/** One task of a recurring series: what the next task is computed from, and what it gets. */
export interface Occurrence {
  /** For an all-day task, the start of its date in the owner's time zone. */
  dueAt: Date;
  allDay: boolean;
  /** Normalised RRULE without DTSTART: the series it describes starts at dueAt. */
  recurrence: string;
  remindAt: Date | null;
}

export type NextOccurrence =
  | { kind: "next"; occurrence: Occurrence }
  /** The series has no task after this one (COUNT used up, UNTIL passed, no later date). */
  | { kind: "ended"; reason: string }
  /** The rule is not one task-api accepts; nothing can be computed from it. */
  | { kind: "invalid"; reason: string }
  /**
   * The rule is valid, but its next task is not found within the search's bounds (see
   * search.ts): e.g. INTERVAL and BYHOUR that never meet in the owner's zone.
   */
  | { kind: "unevaluable"; reason: string };

/**
 * The task after `current` in its series, in the owner's time zone, as RFC 5545 reads the
 * task's rule with DTSTART = its dueAt (wall-clock, "floating" arithmetic in that zone):
 *
 * - The next task is due at the rule's first instance after `current.dueAt`; all-day tasks
 *   move by whole local dates. It does not depend on when it is computed (a task completed
 *   late gets the date after its own, not after today), so every replica and every
 *   redelivery computes the same task.
 * - Wall-clock times stay put across DST changes (09:00 stays 09:00). A time that falls into
 *   a DST gap is taken with the offset before the gap (02:30 -> 03:30), a time that happens
 *   twice is the first of the two (RFC 5545 3.3.5). So that the series returns to 02:30
 *   afterwards, the next task's rule then pins the intended time (BYHOUR/BYMINUTE/BYSECOND,
 *   only those it lacks; not for FREQ=HOURLY, whose grid is the time itself).
 * - COUNT counts the tasks of the series from this one on, this one included: the next task
 *   gets COUNT - 1, and COUNT=1 means this was the last. Each task's rule thus describes the
 *   rest of the series from its own dueAt, which needs no series start or index anywhere.
 * - UNTIL as a date includes that whole local date; as a local date-time it is wall-clock in
 *   the owner's zone; with Z it is an instant.
 * - remindAt keeps its wall-clock distance from dueAt (a reminder at 18:00 the evening before
 *   stays at 18:00 across a DST change).
 */
export function nextOccurrence(current: Occurrence, zone: string): NextOccurrence {
  const parsed = parseRecurrence(current.recurrence);
  if (!parsed.ok) return { kind: "invalid", reason: `the recurrence ${parsed.reason}` };
  const parts = ruleParts(parsed.value);
  const count = parts.get("COUNT");
  if (count !== undefined && Number(count) <= 1)
    return { kind: "ended", reason: "COUNT is used up: this was the last task of the series" };

  const frame = seriesFrame(current.dueAt, current.allDay, zone);
  if (frame === undefined) return { kind: "invalid", reason: `the time zone ${zone} or dueAt is not valid` };
  const { local, dtstart } = frame;
  const until = parts.get("UNTIL");
  const after = current.allDay ? new Date(dtstart.getTime() + DAY_MS - 1000) : dtstart;
  const search = firstInstance(
    ruleWithout(parts, ["COUNT", "UNTIL"]),
    dtstart,
    after,
    false,
    untilSearchStop(until),
  );
  if (search.kind === "unevaluable")
    return { kind: "unevaluable", reason: `the recurrence ${search.reason}` };
  if (search.kind === "none")
    return { kind: "ended", reason: "UNTIL has passed: this was the last task of the series" };
  // The search works in whole seconds; the series keeps the milliseconds dueAt was given with.
  const wallClock = new Date(search.at.getTime() + (current.allDay ? 0 : local.millisecond));

  const dueAt = current.allDay ? startOfDate(isoDate(wallClock), zone) : fromWallClock(wallClock, zone);
  if (until !== undefined && pastUntil(until, wallClock, dueAt))
    return { kind: "ended", reason: "UNTIL has passed: this was the last task of the series" };

  const next = new Map(parts);
  if (count !== undefined) next.set("COUNT", String(Number(count) - 1));
  if (!current.allDay && parts.get("FREQ") !== "HOURLY" && !sameWallClock(dueAt, wallClock, zone)) {
    // A DST gap moved this task: keep the series' time in the rule, or it would drift to the later time.
    const pins: [string, number][] = [
      ["BYHOUR", wallClock.getUTCHours()],
      ["BYMINUTE", wallClock.getUTCMinutes()],
      ["BYSECOND", wallClock.getUTCSeconds()],
    ];
    for (const [name, value] of pins) if (!next.has(name)) next.set(name, String(value));
  }

  let remindAt: Date | null = null;
  if (current.remindAt !== null) {
    const from = current.allDay ? dtstart : floating(local);
    const to = current.allDay ? midnightOf(isoDate(wallClock)) : wallClock;
    const lead = floating(DateTime.fromJSDate(current.remindAt, { zone })).getTime() - from.getTime();
    remindAt = fromWallClock(new Date(to.getTime() + lead), zone);
  }

  return {
    kind: "next",
    occurrence: { dueAt, allDay: current.allDay, recurrence: joinRuleParts(next), remindAt },
  };
}

const DAY_MS = 86_400_000;

/** The series' DTSTART as floating wall-clock time: for all-day tasks only the local date counts. */
function seriesFrame(
  dueAt: Date,
  allDay: boolean,
  zone: string,
): { local: DateTime; dtstart: Date } | undefined {
  const local = DateTime.fromJSDate(dueAt, { zone });
  if (!local.isValid) return undefined;
  // All-day tasks: only the date counts (its start is 01:00 where a DST change skips midnight).
  const dtstart = allDay ? midnightOf(isoDate(floating(local))) : floating(local.set({ millisecond: 0 }));
  return { local, dtstart };
}

/** Where a search may stop for UNTIL: a day past it in any reading; UNTIL is applied exactly after. */
function untilSearchStop(until: string | undefined): Date | undefined {
  return until === undefined ? undefined : new Date(floatingUntil(until).getTime() + 2 * DAY_MS);
}

/** The series a rule is validated for: the task's dueAt, read in its owner's zone. */
export interface SeriesStart {
  dueAt: Date;
  allDay: boolean;
  /** The owner's IANA time zone: BYDAY, BYHOUR, UNTIL and the rest mean local time there. */
  timeZone: string;
}

export type RecurrenceValidation = RecurrenceResult | { ok: false; reason: string; kind: "series" };

/**
 * What task-api checks before it stores a recurrence: the grammar (parseRecurrence), then
 * that the series exists where its owner lives: an occurrence from dueAt on (the task
 * itself, or a later one before UNTIL), and a next task that can be computed within the
 * search's bounds (10 years, see search.ts), exactly as recurring-tasks will compute it on
 * completion. A refusal for the series (not the grammar) has kind "series".
 */
export function validateRecurrence(input: string, series: SeriesStart): RecurrenceValidation {
  const parsed = parseRecurrence(input);
  if (!parsed.ok) return parsed;
  const frame = seriesFrame(series.dueAt, series.allDay, series.timeZone);
  if (frame === undefined)
    return { ok: false, kind: "series", reason: `cannot be read in the time zone ${series.timeZone}` };
  const parts = ruleParts(parsed.value);
  const until = parts.get("UNTIL");
  const first: Search = firstInstance(
    ruleWithout(parts, ["COUNT", "UNTIL"]),
    frame.dtstart,
    frame.dtstart,
    true,
    untilSearchStop(until),
  );
  const where = series.timeZone === "UTC" ? "in UTC" : `in the owner's time zone (${series.timeZone})`;
  if (first.kind === "unevaluable") return { ok: false, kind: "series", reason: `${first.reason} ${where}` };
  if (
    first.kind === "none" ||
    (until !== undefined && pastUntil(until, first.at, dueOf(first.at, series, frame)))
  )
    return { ok: false, kind: "series", reason: "yields no occurrence from dueAt on: UNTIL is before it" };
  const next = nextOccurrence(
    { dueAt: series.dueAt, allDay: series.allDay, recurrence: parsed.value, remindAt: null },
    series.timeZone,
  );
  if (next.kind === "unevaluable" || next.kind === "invalid")
    return {
      ok: false,
      kind: "series",
      reason: `${next.reason.replace(/^the recurrence /, "")} ${where}, so no next task could follow this one`,
    };
  return parsed;
}

/** The due instant of a found wall-clock instance (all-day: the start of its local date). */
function dueOf(wallClock: Date, series: SeriesStart, frame: { local: DateTime }): Date {
  if (series.allDay) return startOfDate(isoDate(wallClock), series.timeZone);
  return fromWallClock(new Date(wallClock.getTime() + frame.local.millisecond), series.timeZone);
}

/** A local time as a Date whose UTC fields are its wall-clock fields (what the search computes in). */
function floating(local: DateTime): Date {
  return DateTime.fromObject(
    {
      year: local.year,
      month: local.month,
      day: local.day,
      hour: local.hour,
      minute: local.minute,
      second: local.second,
      millisecond: local.millisecond,
    },
    { zone: "utc" },
  ).toJSDate();
}

function isoDate(wallClock: Date): string {
  return DateTime.fromJSDate(wallClock, { zone: "utc" }).toISODate() ?? "";
}

function midnightOf(date: string): Date {
  return DateTime.fromISO(date, { zone: "utc" }).toJSDate();
}

/** The instant of a wall-clock time in a zone: in a gap with the offset before it, when repeated the first. */
function fromWallClock(wallClock: Date, zone: string): Date {
  const local = DateTime.fromObject(
    {
      year: wallClock.getUTCFullYear(),
      month: wallClock.getUTCMonth() + 1,
      day: wallClock.getUTCDate(),
      hour: wallClock.getUTCHours(),
      minute: wallClock.getUTCMinutes(),
      second: wallClock.getUTCSeconds(),
      millisecond: wallClock.getUTCMilliseconds(),
    },
    { zone },
  );
  // luxon moves a time in a gap forward by the gap (= the offset before it) but takes the
  // later of two repeated times; RFC 5545 wants the earlier.
  const earliest = Math.min(...local.getPossibleOffsets().map((candidate) => candidate.toMillis()));
  return new Date(earliest);
}

function sameWallClock(instant: Date, wallClock: Date, zone: string): boolean {
  return floating(DateTime.fromJSDate(instant, { zone })).getTime() === wallClock.getTime();
}

/** UNTIL's wall-clock fields (for a date: its start), as a floating Date. */
function floatingUntil(until: string): Date {
  return DateTime.fromObject(
    {
      year: Number(until.slice(0, 4)),
      month: Number(until.slice(4, 6)),
      day: Number(until.slice(6, 8)),
      hour: Number(until.slice(9, 11) || 0),
      minute: Number(until.slice(11, 13) || 0),
      second: Math.min(59, Number(until.slice(13, 15) || 0)),
    },
    { zone: "utc" },
  ).toJSDate();
}

function pastUntil(until: string, wallClock: Date, dueAt: Date): boolean {
  if (until.length === 8) return isoDate(wallClock).replaceAll("-", "") > until;
  if (until.endsWith("Z")) return dueAt.getTime() > floatingUntil(until).getTime();
  return wallClock.getTime() > floatingUntil(until).getTime();
}
