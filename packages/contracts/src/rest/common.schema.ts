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
export const instant = z.iso
  .datetime({ offset: true })
  .refine(inRange, RANGE)
  .meta({ description: "RFC 3339 date-time with offset.", examples: ["2026-12-01T09:00:00Z"] });
export const instantOut = z.iso.datetime().meta({ description: "RFC 3339 date-time in UTC." });
// PostgreSQL text cannot hold NUL: refused here as a 422 rather than failing the INSERT with a 500.
export const noNul = (s: string): boolean => !s.includes("\u0000");
