import { createSweep, type Logger, type WorkerLoop } from "@taskmesh/core";
import type pg from "pg";
import { deleteStreamEventsBefore } from "../data/stream-event.repository.ts";
import { deleteExpiredStreamTickets } from "../data/stream-ticket.repository.ts";

/** How often the sweep runs (its first run is one interval after start). */
export const STREAM_RETENTION_SWEEP_MS = 10 * 60 * 1000;

export interface StreamRetentionWorkerDeps {
  pool: pg.Pool;
  logger: Logger;
  /** Stream events older than this are deleted (STREAM_RETENTION_HOURS): the Last-Event-ID replay window. */
  retentionHours: number;
  intervalMs?: number;
  now?: () => number;
}

/**
 * Deletes expired stream tickets and stream events past the replay window, every
 * STREAM_RETENTION_SWEEP_MS. A failed sweep is logged and the next one tries again.
 */
export function createStreamRetentionWorker(deps: StreamRetentionWorkerDeps): WorkerLoop {
  const { pool, logger } = deps;
  const intervalMs = deps.intervalMs ?? STREAM_RETENTION_SWEEP_MS;
  const now = deps.now ?? Date.now;
  return createSweep({
    name: "stream retention sweep",
    intervalMs,
    logger,
    sweep: async () => {
      const before = new Date(now() - deps.retentionHours * 3600 * 1000);
      // The tickets' sweep fails on its own: the events are still swept.
      const [, count] = await Promise.all([
        deleteExpiredStreamTickets(pool, new Date(now())).catch((err: unknown) => {
          logger.warn({ err }, "stream ticket sweep failed");
        }),
        deleteStreamEventsBefore(pool, before),
      ]);
      if (count > 0) logger.info({ count }, "old stream events deleted");
    },
  });
}
