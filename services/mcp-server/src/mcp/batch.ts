import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { itemError, success } from "./tool-result.ts";

/** Items of one batch call run this many at a time (task-api serialises per user anyway). */
const CONCURRENCY = 4;
export const MAX_BATCH = 50;

export type ItemOutcome<T> =
  | { index: number; ok: true; result: T }
  | { index: number; ok: false; error: { code: string; message: string; hint: string } };

/**
 * The task-api calls of a batch tool: one per item of `field`. Arguments that are no valid batch
 * are refused before any call, so they cost what a single call does.
 */
export function callsPerItem(field: string): (args: unknown) => number {
  return (args) => {
    const items =
      typeof args === "object" && args !== null ? (args as Record<string, unknown>)[field] : undefined;
    return Array.isArray(items) && items.length >= 1 && items.length <= MAX_BATCH ? items.length : 1;
  };
}

/** Runs `work` for every item, a few at a time, and reports each item's outcome in input order. */
export async function runBatch<I, T>(
  items: readonly I[],
  work: (item: I) => Promise<T>,
): Promise<ItemOutcome<T>[]> {
  const outcomes: ItemOutcome<T>[] = new Array<ItemOutcome<T>>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        outcomes[index] = { index, ok: true, result: await work(items[index] as I) };
      } catch (error) {
        outcomes[index] = { index, ok: false, error: itemError(error) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return outcomes;
}

/**
 * The batch's result: every item reported, and isError only when no item succeeded (then the
 * call as a whole needs fixing; otherwise the model retries the failed items).
 */
export function batchResult<T>(verb: string, outcomes: ItemOutcome<T>[]): CallToolResult {
  const failed = outcomes.filter((o) => !o.ok);
  const summary =
    failed.length === 0
      ? `${verb} all ${outcomes.length} item(s).`
      : `${verb} ${outcomes.length - failed.length} of ${outcomes.length} item(s); items ${failed.map((f) => f.index).join(", ")} failed (see each item's error.hint).`;
  const result = success(summary, {
    succeeded: outcomes.length - failed.length,
    failed: failed.length,
    items: outcomes,
  });
  return failed.length === outcomes.length && outcomes.length > 0 ? { ...result, isError: true } : result;
}
