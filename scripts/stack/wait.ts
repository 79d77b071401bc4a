/** Thrown by waitUntil when the deadline passes or `abortIf` reports a reason to give up. */
export class WaitError extends Error {}

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes. Default 200 ms. */
  intervalMs?: number;
  /** Checked before each probe: a message means "this will never succeed" (e.g. the process died). */
  abortIf?: () => string | undefined;
}

/**
 * Polls `probe` until it returns something other than undefined. A probe that throws
 * counts as "not yet" and its message is kept for the timeout error.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: WaitOptions,
): Promise<T> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let last = "";
  for (;;) {
    const abort = options.abortIf?.();
    if (abort !== undefined) throw new WaitError(`${what}: ${abort}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline)
      throw new WaitError(
        `${what}: not within ${Math.round(options.timeoutMs / 1000)} s${last ? ` (last error: ${last})` : ""}`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
  }
}

/** GET a URL with a short timeout; resolves to the response or throws. */
export async function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<Response> {
  return fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
}
