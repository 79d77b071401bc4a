import type { Logger } from "./logger.ts";

/**
 * The loop every background worker runs on (outbox relay, webhook delivery, sweeps): a round,
 * then a wait that a wake-up cuts short, until stopped.
 */
export interface WorkerLoopOptions {
  /**
   * One round of work; resolves with how long to wait before the next one (0: go on at once,
   * e.g. a full batch means more is waiting). A rejected round waits `onError`'s delay.
   */
  round: () => Promise<number>;
  /** What a rejected round waits before the next (it should log); default: the error is rethrown. */
  onError?: (error: unknown) => number;
  /** Rounds running side by side, each waiting on its own (as separate replicas would). Default 1. */
  lanes?: number;
  /** Wait this long before the first round (a sweep that runs every hour, not at start). Default 0. */
  firstRoundAfterMs?: number;
}

export interface WorkerLoop {
  /** Starts the lanes; a second call does nothing. */
  start(): void;
  /**
   * Work came in: one waiting lane runs its next round now; if every lane is busy, the next
   * one to finish its round goes on without waiting.
   */
  wake(): void;
  /** Ends the waits and resolves once every lane has finished its round in flight. */
  stop(): Promise<void>;
  /** Whether the loop is started and not stopped. */
  readonly running: boolean;
}

/** A wake-or-poll loop: `round` after `round`, each wait ended early by `wake()` or `stop()`. */
export function createWorkerLoop(options: WorkerLoopOptions): WorkerLoop {
  let running = false;
  let lanes: Promise<void>[] = [];
  /** Lanes waiting for their next round, each with the function that ends its wait. */
  const sleepers = new Set<() => void>();
  /** A wake-up that came while every lane was busy: the next lane to finish runs at once. */
  let wokenWhileBusy = false;
  // A function, not the variable: the lanes read it after awaits, where stop() may have changed it.
  const isRunning = () => running;

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });
  }

  async function lane(): Promise<void> {
    if (options.firstRoundAfterMs) await sleep(options.firstRoundAfterMs);
    while (isRunning()) {
      let delayMs: number;
      try {
        delayMs = await options.round();
      } catch (error) {
        if (!options.onError) throw error;
        delayMs = options.onError(error);
      }
      if (!isRunning()) return;
      if (delayMs <= 0) continue;
      if (wokenWhileBusy) {
        wokenWhileBusy = false;
        continue;
      }
      await sleep(delayMs);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      wokenWhileBusy = false;
      lanes = Array.from({ length: Math.max(1, options.lanes ?? 1) }, () => lane());
    },
    wake() {
      if (!running) return;
      const [first] = sleepers;
      if (first) first();
      else wokenWhileBusy = true;
    },
    async stop() {
      running = false;
      for (const done of [...sleepers]) done();
      await Promise.all(lanes);
      lanes = [];
    },
    get running() {
      return running;
    },
  };
}

/**
 * A periodic sweep on the worker loop: `sweep` every `intervalMs`, the first one interval after
 * start. A failed sweep is logged at warn ("<name> failed") and the next one tries again.
 */
export function createSweep(options: {
  name: string;
  intervalMs: number;
  logger: Pick<Logger, "warn">;
  sweep: () => Promise<void>;
}): WorkerLoop {
  return createWorkerLoop({
    firstRoundAfterMs: options.intervalMs,
    async round() {
      try {
        await options.sweep();
      } catch (err) {
        options.logger.warn({ err }, `${options.name} failed`);
      }
      return options.intervalMs;
    },
  });
}
