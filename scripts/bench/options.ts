/**
 * What the benchmarks share about how they are run: smoke mode, numeric knobs and where the JSON
 * goes.
 *
 * Smoke mode (`npm run bench:<name> -- --smoke`, or BENCH_SMOKE=1): a tiny dataset and about a
 * second per scenario. It proves a benchmark still runs end to end and writes its JSON (the test
 * suite runs each this way: test/bench/smoke.test.ts); its figures mean nothing.
 */
import path from "node:path";
import { z } from "zod";

const root = path.resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);

export const SMOKE = args.includes("--smoke") || process.env.BENCH_SMOKE === "1";

const knobSchema = z.coerce.number();

/**
 * A numeric knob: its environment variable when set (so a smoke run can still be tuned), else
 * `smoke` in smoke mode, else `full`. A value that is not a number stops the run before it starts.
 */
export function knob(name: string, full: number, smoke: number = full): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return SMOKE ? smoke : full;
  const parsed = knobSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${name}=${JSON.stringify(raw)} is not a number`);
  return parsed.data;
}

/**
 * The JSON file a run writes: `--out <file>` (or `--out=<file>`), else BENCH_OUTPUT, else
 * bench-results/<name>[-smoke]-<time>.json.
 */
export function outputFile(name: string): string {
  const index = args.findIndex((a) => a === "--out" || a.startsWith("--out="));
  const arg = index === -1 ? undefined : (args[index]?.split("=")[1] ?? args[index + 1]);
  if (index !== -1 && !arg) throw new Error("--out needs a file name");
  const explicit = arg ?? process.env.BENCH_OUTPUT;
  if (explicit) return path.resolve(explicit);
  const time = new Date().toISOString().replace(/[:.]/g, "-");
  return path.join(root, "bench-results", `${name}${SMOKE ? "-smoke" : ""}-${time}.json`);
}

/** One line at the start of a smoke run, so nobody reads its figures as a measurement. */
export function announceSmoke(): void {
  if (SMOKE) console.log("» smoke mode: tiny dataset, ~1 s per scenario; the figures mean nothing");
}
