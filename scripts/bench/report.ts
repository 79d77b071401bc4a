/**
 * How the benchmarks print and keep their results: progress lines, number formats, side-by-side
 * tables with ratios, percentiles, target checks and the JSON file.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "./harness.ts";

const started = Date.now();

/** Seconds since the benchmark started. */
export const elapsedSeconds = (): number => Math.round((Date.now() - started) / 1000);

/** One progress line ("» message"), with the seconds since the start when `timed`. */
export function step(message: string, timed = false): void {
  console.log(`» ${message}${timed ? `  (${elapsedSeconds()} s)` : ""}`);
}

/** A progress line with the seconds since the start (bench:events). */
export function timedStep(message: string): void {
  step(message, true);
}

/** A number with thousands separators and `digits` decimals; "-" for NaN and infinities. */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

/** "1.23x", or "-" when there is nothing to compare with. */
export const ratio = (a: number, b: number): string =>
  b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : "-";

/** Rounded to two decimals. */
export const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * One table row: the first cell left-aligned in its width, the others right-aligned, one space
 * apart ("|" as a cell of width 1 draws a column separator).
 */
export function row(cells: readonly (string | number)[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === 0 ? String(cell).padEnd(widths[0] ?? 0) : String(cell).padStart(widths[i] ?? 0)))
    .join(" ");
}

/** The p-th percentile (nearest rank) of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export interface Check {
  target: string;
  value: string;
  ok: boolean;
}

/** "  meets   <target>: <value>" or "  MISSES  ..." per check. */
export function printChecks(checks: readonly Check[]): void {
  for (const c of checks) console.log(`  ${c.ok ? "meets " : "MISSES"}  ${c.target}: ${c.value}`);
}

/** Writes the run's JSON and says where (with the run's duration when `timed`). */
export async function writeResultFile(
  file: string,
  data: unknown,
  options: { verb?: string; timed?: boolean; trailingNewline?: boolean } = {},
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}${options.trailingNewline ? "\n" : ""}`);
  const where = path.relative(REPO_ROOT, file);
  console.log(`\n${options.verb ?? "wrote"} ${where}${options.timed ? ` (${elapsedSeconds()} s)` : ""}`);
}
