import { DateTime } from "luxon";

/** The canonical IANA name of a time zone, or undefined if the runtime does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  if (name.length === 0 || name.length > 64) return undefined;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export function isDateOnly(value: string): boolean {
  return DATE_ONLY.test(value);
}

/** Midnight at the start of a calendar date in a time zone (DST-safe: luxon picks the first valid instant). */
export function startOfDate(date: string, timeZone: string): Date {
  return DateTime.fromISO(date, { zone: timeZone }).startOf("day").toJSDate();
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function dateIn(instant: Date, timeZone: string): string {
  return DateTime.fromJSDate(instant, { zone: timeZone }).toISODate() ?? instant.toISOString().slice(0, 10);
}

/** An all-day due instant: the start of the instant's calendar date in the owner's zone. */
export function allDayAnchor(instant: Date, timeZone: string): Date {
  return startOfDate(dateIn(instant, timeZone), timeZone);
}
