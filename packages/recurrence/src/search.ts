import { RRuleTemporal } from "rrule-temporal";
import { Temporal } from "temporal-polyfill";

/**
 * How far past a series' dueAt an occurrence is looked for: 10 years. Long enough for every
 * series a task manager has a use for (every 10 years, like a passport; 29 February, whose
 * longest gap is 8 years, 2096 -> 2104), short enough that a rule that can never match
 * (BYMONTH=2;BYMONTHDAY=30) costs milliseconds instead of a search to the year 9999.
 */
export const HORIZON_YEARS = 10;
/**
 * The most periods of the rule's FREQ x INTERVAL one search may advance (rrule-temporal's
 * maxIterations): 10 years of DAILY fit; for HOURLY it shortens the horizon to 10,000 x
 * INTERVAL hours (about 14 months at INTERVAL=1).
 */
export const MAX_PERIODS = 10_000;
/** The most candidate date-times one search may expand (BYHOUR x BYMINUTE x BYSECOND x days). */
export const MAX_CANDIDATES = 100_000;

export type Search =
  | { kind: "found"; at: Date }
  /** No instance up to `stop` (the series' UNTIL): the series has ended. */
  | { kind: "none" }
  /** No instance within the bounds: nothing can be said about the series. */
  | { kind: "unevaluable"; reason: string };

/** A floating wall-clock Date (UTC fields = wall-clock fields) as a ZonedDateTime in UTC. */
function zoned(floating: Date): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(floating.getTime()).toZonedDateTimeISO("UTC");
}

function addYears(floating: Date, years: number): Date {
  const later = new Date(floating.getTime());
  later.setUTCFullYear(later.getUTCFullYear() + years);
  return later;
}

/**
 * The first instance of `rule` (normalised, without COUNT and UNTIL) with DTSTART =
 * `dtstart` at or after (`inclusive`) or after `from`, never past `stop`. Every date here is
 * floating wall-clock time: the rule is evaluated in UTC, where no DST exists, and the caller
 * maps wall-clock times to the owner's zone (that keeps 09:00 at 09:00 across DST).
 *
 * Bounded in every direction: rrule-temporal stops at the horizon (passed as its UNTIL), at
 * MAX_PERIODS periods and at MAX_CANDIDATES candidates; whatever it throws is "unevaluable".
 * rrule 2.8.1, used before, had none of these bounds and looped forever on
 * FREQ=HOURLY;INTERVAL=2;BYHOUR=18 from 09:00 (its issue #653).
 */
export function firstInstance(
  rule: string,
  dtstart: Date,
  from: Date,
  inclusive: boolean,
  stop?: Date,
): Search {
  const horizon = addYears(dtstart, HORIZON_YEARS);
  const byUntil = stop !== undefined && stop.getTime() <= horizon.getTime();
  const bound = byUntil ? stop : horizon;
  const beyond: Search = {
    kind: "unevaluable",
    reason: `yields no occurrence within ${HORIZON_YEARS} years after dueAt`,
  };
  if (from.getTime() > bound.getTime()) return byUntil ? { kind: "none" } : beyond;
  // rrule-temporal scans every day of every period for such rules (tens of ms of Temporal
  // objects for 10 years): a rule no day can satisfy is answered without it.
  if (!anyDayMatches(rule, from, bound) || !setPosReachable(rule)) return byUntil ? { kind: "none" } : beyond;
  let found: Temporal.ZonedDateTime | null | undefined;
  try {
    const generator = new RRuleTemporal({
      rruleString: rule,
      dtstart: zoned(dtstart),
      tzid: "UTC",
      until: zoned(bound),
      temporal: Temporal,
      cache: false,
      maxIterations: MAX_PERIODS,
      maxCandidateEvaluations: MAX_CANDIDATES,
    });
    found = generator.next(zoned(from), inclusive);
  } catch {
    // rrule-temporal's safety caps (or anything else it refuses): the search was cut short.
    return {
      kind: "unevaluable",
      reason: `needs more than ${MAX_PERIODS} periods or ${MAX_CANDIDATES} candidate times to find its next occurrence`,
    };
  }
  if (found == null) return byUntil ? { kind: "none" } : beyond;
  return { kind: "found", at: new Date(found.epochMilliseconds) };
}

const DAY_MS = 86_400_000;
const WEEKDAY_INDEX: Record<string, number> = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };

function numbers(value: string | undefined): number[] | undefined {
  return value === undefined ? undefined : value.split(",").map(Number);
}

/** Day number (days since 1970-01-01) of the first day of week 1 of `year`: the WKST week holding 4 January. */
function weekOneStart(year: number, wkst: number): number {
  const jan4 = Date.UTC(year, 0, 4) / DAY_MS;
  const weekday = new Date(jan4 * DAY_MS).getUTCDay();
  return jan4 - ((weekday - wkst + 7) % 7);
}

/** Whether the day is in one of the weeks (RFC 5545 BYWEEKNO, negative from the end) of the year before, its own, or the next. */
function inWeeks(day: number, year: number, weeks: number[], wkst: number): boolean {
  for (const y of [year - 1, year, year + 1]) {
    const start = weekOneStart(y, wkst);
    const count = (weekOneStart(y + 1, wkst) - start) / 7;
    if (day < start || day >= start + count * 7) continue;
    const week = Math.floor((day - start) / 7) + 1;
    if (weeks.some((w) => w === week || w === week - count - 1)) return true;
  }
  return false;
}

/**
 * Whether any date between `from` and `to` (floating) passes the rule's day filters
 * (BYMONTH, BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYDAY's weekdays). A superset of the rule's
 * days (ordinals, BYSETPOS and INTERVAL only remove more), so "no" means the rule has no
 * instance there; a few thousand integer steps.
 */
function anyDayMatches(rule: string, from: Date, to: Date): boolean {
  const parts = new Map(rule.split(";").map((part) => part.split("=") as [string, string]));
  const months = numbers(parts.get("BYMONTH"));
  const monthDays = numbers(parts.get("BYMONTHDAY"));
  const yearDays = numbers(parts.get("BYYEARDAY"));
  const weeks = numbers(parts.get("BYWEEKNO"));
  const weekdays = parts
    .get("BYDAY")
    ?.split(",")
    .map((day) => WEEKDAY_INDEX[day.slice(-2)] ?? -1);
  if (!months && !monthDays && !yearDays && !weeks && !weekdays) return true;
  const wkst = WEEKDAY_INDEX[parts.get("WKST") ?? "MO"] ?? 1;
  const last = Math.floor(to.getTime() / DAY_MS);
  for (let day = Math.floor(from.getTime() / DAY_MS); day <= last; day++) {
    const date = new Date(day * DAY_MS);
    const year = date.getUTCFullYear();
    const month = date.getUTCMonth() + 1;
    const monthDay = date.getUTCDate();
    if (months && !months.includes(month)) continue;
    if (weekdays && !weekdays.includes(date.getUTCDay())) continue;
    if (monthDays) {
      const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
      if (!monthDays.some((d) => d === monthDay || d === monthDay - length - 1)) continue;
    }
    if (yearDays) {
      const yearDay = day - Date.UTC(year, 0, 1) / DAY_MS + 1;
      const length = (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1)) / DAY_MS;
      if (!yearDays.some((d) => d === yearDay || d === yearDay - length - 1)) continue;
    }
    if (weeks && !inWeeks(day, year, weeks, wkst)) continue;
    return true;
  }
  return false;
}

/**
 * The most days one period (one FREQ unit) can hold, as RFC 5545 expands the BYxxx parts: a
 * part that is absent takes DTSTART's value (WEEKLY: its weekday; MONTHLY: its day; YEARLY
 * with only BYMONTH: its day in each month). An upper bound, never less than the truth.
 */
function daysPerPeriod(freq: string, size: (name: string) => number | undefined): number {
  const byDay = size("BYDAY");
  const byMonthDay = size("BYMONTHDAY");
  const byMonth = size("BYMONTH");
  switch (freq) {
    case "HOURLY":
    case "DAILY":
      return 1;
    case "WEEKLY":
      return byDay ?? 1;
    case "MONTHLY":
      return byDay !== undefined ? 31 : (byMonthDay ?? 1);
    default: {
      const byYearDay = size("BYYEARDAY");
      const byWeekNo = size("BYWEEKNO");
      if (byYearDay !== undefined) return Math.min(366, byYearDay);
      if (byMonthDay !== undefined) return byMonthDay * (byMonth ?? 12);
      if (byWeekNo !== undefined) return Math.min(366, byWeekNo * 7);
      if (byDay !== undefined) return 366;
      return byMonth ?? 1;
    }
  }
}

/**
 * Whether BYSETPOS can pick anything: a period holds at most days x hours x minutes x
 * seconds candidates, so BYSETPOS=2 of DAILY;BYHOUR=0 never matches (and would otherwise be
 * searched day by day to the horizon).
 */
function setPosReachable(rule: string): boolean {
  const parts = new Map(rule.split(";").map((part) => part.split("=") as [string, string]));
  const positions = numbers(parts.get("BYSETPOS"));
  if (positions === undefined) return true;
  const freq = parts.get("FREQ") ?? "DAILY";
  const size = (name: string) => {
    const value = parts.get(name);
    return value === undefined ? undefined : new Set(value.split(",")).size;
  };
  const most =
    daysPerPeriod(freq, size) *
    (freq === "HOURLY" ? 1 : (size("BYHOUR") ?? 1)) *
    (size("BYMINUTE") ?? 1) *
    (size("BYSECOND") ?? 1);
  return positions.some((position) => Math.abs(position) <= most);
}
