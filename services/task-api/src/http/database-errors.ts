import { ConflictError, UnavailableError } from "@taskmesh/core";
import { Prisma } from "@taskmesh/db";
import type { ErrorRequestHandler } from "express";

/** SQLSTATEs a client can fix by retrying the same request. */
const CONFLICT_STATES = new Set(["40001", "40P01"]); // serialization failure, deadlock
const UNAVAILABLE_STATES = new Set(["53300", "57P01", "57P03", "08006", "08001"]); // too many connections, shutting down, connection lost

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Turns database failures that are not faults of this service into problems a client
 * can act on: overload or a lost connection is 503 + Retry-After, a concurrent write
 * that lost a race is 409. Everything else stays a 500.
 */
export const translateDatabaseErrors: ErrorRequestHandler = (err: unknown, _req, _res, next) => {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (err.code === "P2028" || err.code === "P1001" || err.code === "P1017") {
      next(new UnavailableError("The database is busy; retry shortly.", 1, { cause: err }));
      return;
    }
    if (err.code === "P2002" || err.code === "P2034") {
      next(
        new ConflictError("A concurrent change conflicted with this one; retry the request.", { cause: err }),
      );
      return;
    }
  }
  const state = sqlState(err) ?? sqlState((err as { cause?: unknown } | null)?.cause);
  if (state !== undefined && CONFLICT_STATES.has(state)) {
    next(
      new ConflictError("A concurrent change conflicted with this one; retry the request.", { cause: err }),
    );
    return;
  }
  if (
    (state !== undefined && UNAVAILABLE_STATES.has(state)) ||
    (err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message))
  ) {
    next(new UnavailableError("The database is unavailable; retry shortly.", 1, { cause: err }));
    return;
  }
  next(err);
};
