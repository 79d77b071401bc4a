/**
 * Strict RFC 5545 (section 3.3.10) RRULE validation. rrule-temporal alone is too lenient
 * (it accepts BYDAY=1MO with FREQ=DAILY, among others), so the grammar is checked here;
 * whether the rule yields a series from a task's dueAt is validateRecurrence's question.
 */

export type RecurrenceResult = { ok: true; value: string } | { ok: false; reason: string };

/** The most times of day a rule may name (BYHOUR x BYMINUTE x BYSECOND): one a minute. */
export const MAX_TIMES_OF_DAY = 1440;

const FREQS = ["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"] as const;
const TOO_FREQUENT = new Set(["SECONDLY", "MINUTELY"]);
const WEEKDAY = "(SU|MO|TU|WE|TH|FR|SA)";

function intList(min: number, max: number, signed: boolean) {
  return (value: string): boolean =>
    value.split(",").every((part) => {
      if (!/^[+-]?\d{1,3}$/.test(part)) return false;
      if (!signed && /^[+-]/.test(part)) return false;
      const n = Math.abs(Number(part));
      return n >= min && n <= max;
    });
}

/** RFC 5545 DATE or DATE-TIME (3.3.4, 3.3.5): a real calendar date and a real time of day. */
function isDateOrDateTime(value: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$/.exec(value);
  if (m === null) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = [1, 2, 3, 4, 5, 6].map((i) =>
    Number(m[i] ?? 0),
  );
  const date = new Date(Date.UTC(year, month - 1, day));
  const realDate =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return realDate && hour <= 23 && minute <= 59 && second <= 60;
}

const PARTS: Record<string, (value: string) => boolean> = {
  FREQ: () => true, // checked separately, for a better message
  UNTIL: isDateOrDateTime,
  COUNT: (v) => /^\d{1,4}$/.test(v) && Number(v) >= 1,
  INTERVAL: (v) => /^\d{1,4}$/.test(v) && Number(v) >= 1,
  BYSECOND: intList(0, 60, false),
  BYMINUTE: intList(0, 59, false),
  BYHOUR: intList(0, 23, false),
  BYDAY: (v) =>
    v.split(",").every((part) => {
      // weekdaynum = [[plus / minus] ordwk] weekday: a sign needs a number after it.
      const m = new RegExp(`^(?:[+-]?(\\d{1,2}))?${WEEKDAY}$`).exec(part);
      return m !== null && (m[1] === undefined || (Number(m[1]) >= 1 && Number(m[1]) <= 53));
    }),
  BYMONTHDAY: intList(1, 31, true),
  BYYEARDAY: intList(1, 366, true),
  BYWEEKNO: intList(1, 53, true),
  BYMONTH: intList(1, 12, false),
  BYSETPOS: intList(1, 366, true),
  WKST: (v) => new RegExp(`^${WEEKDAY}$`).test(v),
};

/**
 * Validates an RRULE (with or without the "RRULE:" prefix, no DTSTART: a task's series
 * starts at its dueAt) and returns it normalised: upper case, no prefix.
 */
export function parseRecurrence(input: string): RecurrenceResult {
  const body = input
    .trim()
    .replace(/^RRULE:/i, "")
    .toUpperCase();
  if (body.length === 0) return { ok: false, reason: "is empty" };
  if (body.length > 500) return { ok: false, reason: "is longer than 500 characters" };
  if (/[\r\n]/.test(body))
    return { ok: false, reason: "must be a single RRULE line without DTSTART or EXDATE" };

  const seen = new Map<string, string>();
  for (const part of body.split(";")) {
    const eq = part.indexOf("=");
    const name = eq > 0 ? part.slice(0, eq) : part;
    const value = eq > 0 ? part.slice(eq + 1) : "";
    const check = PARTS[name];
    if (check === undefined) return { ok: false, reason: `has an unknown part '${name}'` };
    if (seen.has(name)) return { ok: false, reason: `repeats '${name}'` };
    if (value === "" || !check(value))
      return { ok: false, reason: `has an invalid ${name} value '${value}'` };
    seen.set(name, value);
  }

  const freq = seen.get("FREQ");
  if (freq === undefined) return { ok: false, reason: "needs a FREQ" };
  if (TOO_FREQUENT.has(freq))
    return { ok: false, reason: `FREQ=${freq} is too frequent for tasks (HOURLY at most)` };
  if (!(FREQS as readonly string[]).includes(freq))
    return { ok: false, reason: `has an unknown FREQ '${freq}'` };
  if (seen.has("COUNT") && seen.has("UNTIL"))
    return { ok: false, reason: "cannot have both COUNT and UNTIL" };
  if (seen.has("BYSETPOS") && ![...seen.keys()].some((name) => name.startsWith("BY") && name !== "BYSETPOS"))
    return { ok: false, reason: "BYSETPOS needs another BYxxx part" };
  if (seen.has("BYWEEKNO") && freq !== "YEARLY") return { ok: false, reason: "BYWEEKNO needs FREQ=YEARLY" };
  if (seen.has("BYYEARDAY") && ["DAILY", "WEEKLY", "MONTHLY"].includes(freq))
    return { ok: false, reason: `BYYEARDAY cannot be used with FREQ=${freq}` };
  if (seen.has("BYMONTHDAY") && freq === "WEEKLY")
    return { ok: false, reason: "BYMONTHDAY cannot be used with FREQ=WEEKLY" };
  if (freq !== "MONTHLY" && freq !== "YEARLY" && /\d/.test(seen.get("BYDAY") ?? ""))
    return { ok: false, reason: `numbered BYDAY (like 1MO) needs FREQ=MONTHLY or YEARLY` };
  // Every candidate time of a day costs the evaluation (rrule-temporal expands a day's times
  // before it filters); a task per minute is already far past "HOURLY at most".
  const distinct = (name: string, otherwise: number) =>
    seen.has(name) ? new Set(seen.get(name)?.split(",").map(Number)).size : otherwise;
  const timesOfDay =
    distinct("BYHOUR", freq === "HOURLY" ? 24 : 1) * distinct("BYMINUTE", 1) * distinct("BYSECOND", 1);
  if (timesOfDay > MAX_TIMES_OF_DAY)
    return {
      ok: false,
      reason: `names ${timesOfDay} times of day with BYHOUR, BYMINUTE and BYSECOND (at most ${MAX_TIMES_OF_DAY})`,
    };

  return { ok: true, value: body };
}

/** The parts of a normalised rule (as parseRecurrence returns it), in order. */
export function ruleParts(body: string): Map<string, string> {
  return new Map(
    body.split(";").map((part) => {
      const eq = part.indexOf("=");
      return [part.slice(0, eq), part.slice(eq + 1)] as const;
    }),
  );
}

/** Joins parts back into a rule. */
export function joinRuleParts(parts: Map<string, string>): string {
  return [...parts].map(([name, value]) => `${name}=${value}`).join(";");
}

/** The rule without some of its parts (e.g. those taskmesh applies itself). */
export function ruleWithout(parts: Map<string, string>, names: readonly string[]): string {
  const kept = new Map(parts);
  for (const name of names) kept.delete(name);
  return joinRuleParts(kept);
}
