/** Building blocks shared by the REST schemas: ids, instants, text rules. */
import { z } from "zod";
import "zod-openapi";

export const id = z.uuid().meta({
  description: "A UUID (v7 for ids taskmesh creates).",
  examples: ["01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f"],
});
// PostgreSQL timestamps here run from year 1 to 9999; a day's margin keeps the start of a date in any time zone inside.
const EARLIEST = Date.parse("0001-01-02T00:00:00Z");
const LATEST = Date.parse("9999-12-31T00:00:00Z");
export const inRange = (value: string): boolean => {
  const t = Date.parse(value);
  return t >= EARLIEST && t < LATEST;
};
export const RANGE = "must be between 0001-01-02 and 9999-12-30";
// RFC 3339 allows offsets to ±23:59, PostgreSQL refuses those past ±15:59 (a 500 once the value
// reaches SQL as text), and the real world uses -12:00 to +14:00: past ±14:00 is a mistake.
const MAX_OFFSET_MINUTES = 14 * 60;
const OFFSET = /([+-])(\d{2}):(\d{2})$/;
export const offsetInRange = (value: string): boolean => {
  const match = OFFSET.exec(value);
  return match === null || Number(match[2]) * 60 + Number(match[3]) <= MAX_OFFSET_MINUTES;
};
export const OFFSET_RANGE = "must have a UTC offset between -14:00 and +14:00 (real-world offsets)";
/**
 * The rules a date-time a client sends must meet beyond its syntax: an offset the world uses,
 * and an instant PostgreSQL and a JS Date both hold. Every date-time input is built with it.
 */
export const storable = <S extends z.ZodType<string>>(schema: S) =>
  schema.refine(offsetInRange, OFFSET_RANGE).refine(inRange, RANGE);
export const instant = storable(z.iso.datetime({ offset: true })).meta({
  description: "RFC 3339 date-time with offset (at most ±14:00).",
  examples: ["2026-12-01T09:00:00Z"],
});
export const instantOut = z.iso.datetime().meta({ description: "RFC 3339 date-time in UTC." });
// PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing the INSERT with a 500.
export const noNul = (s: string): boolean => !s.includes("\u0000");
