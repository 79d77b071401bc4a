import { createSweep, type Logger, type WorkerLoop } from "@taskmesh/core";
import type { PrismaClient } from "@taskmesh/db";
import { deleteExpired } from "../data/idempotency.repository.ts";

/** How often expired idempotency records are deleted (the first sweep is one interval after start). */
export const IDEMPOTENCY_SWEEP_MS = 60 * 60 * 1000;

export interface IdempotencySweepDeps {
  prisma: PrismaClient;
  logger: Logger;
  intervalMs?: number;
  clock?: () => Date;
}

/** Deletes stored responses of Idempotency-Keys past their expiry; a failed sweep is logged and retried next time. */
export function createIdempotencySweep(deps: IdempotencySweepDeps): WorkerLoop {
  const { prisma, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  return createSweep({
    name: "idempotency sweep",
    intervalMs: deps.intervalMs ?? IDEMPOTENCY_SWEEP_MS,
    logger,
    sweep: async () => {
      const count = await deleteExpired(prisma, clock());
      if (count > 0) logger.info({ count }, "expired idempotency records deleted");
    },
  });
}
