import type { ErrorRequestHandler } from "express";
import { ConflictError, UnavailableError } from "../errors.ts";

/** SQLSTATEs a client can fix by retrying the same request. */
const CONFLICT_STATES = new Set(["40001", "40P01"]); // serialization failure, deadlock
const UNAVAILABLE_STATES = new Set(["53300", "57P01", "57P03", "08006", "08001"]); // too many connections, shutting down, connection lost
/** The pool's statement_timeout cancelled the statement, or idle_in_transaction_session_timeout closed the session. */
const TIMEOUT_STATES = new Set(["57014", "25P03"]);
/** Prisma's codes for a lost or unreachable database and for a transaction that timed out. */
const PRISMA_UNAVAILABLE = new Set(["P2028", "P1001", "P1017"]);
const PRISMA_CONFLICT = new Set(["P2002", "P2034"]);

/** What Prisma's driver adapter reports under `meta.driverAdapterError.cause`. */
interface AdapterCause {
  kind?: unknown;
  originalCode?: unknown;
}

/** Prisma's driver adapter kinds that mean the database could not be used right now. */
const ADAPTER_UNAVAILABLE = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
]);
const ADAPTER_CONFLICT = new Set(["TransactionWriteConflict"]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

// Told apart by name rather than class, so core needs no Prisma client.
function isPrismaError(err: unknown): err is Error & { code?: unknown; meta?: unknown } {
  return (
    err instanceof Error &&
    (err.name === "PrismaClientKnownRequestError" || err.name === "PrismaClientUnknownRequestError")
  );
}

function adapterCause(err: unknown): AdapterCause | undefined {
  if (!isPrismaError(err)) return undefined;
  const meta = err.meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined;
  return meta?.driverAdapterError?.cause;
}

/**
 * The SQLSTATE behind a database error: a node-postgres error's own code, its cause's, or the
 * original code Prisma's driver adapter kept (Prisma's own P-codes are not SQLSTATEs).
 */
export function databaseSqlState(err: unknown): string | undefined {
  if (isPrismaError(err)) {
    const original = adapterCause(err)?.originalCode;
    return typeof original === "string" && SQLSTATE.test(original) ? original : undefined;
  }
  for (const candidate of [err, (err as { cause?: unknown } | null)?.cause]) {
    const code = (candidate as { code?: unknown } | null)?.code;
    if (typeof code === "string" && SQLSTATE.test(code)) return code;
  }
  return undefined;
}

/**
 * Database failures that are not faults of the caller or of this service: "unavailable" (overload,
 * a lost or refused connection; retry later) and "conflict" (a concurrent write won a race;
 * retry now), "timeout" (the statement or transaction exceeded the pool's time limits; retry
 * later or ask for less). Anything else is undefined.
 */
export function databaseFailure(err: unknown): "unavailable" | "timeout" | "conflict" | undefined {
  if (isPrismaError(err)) {
    const code = typeof err.code === "string" ? err.code : undefined;
    const kind = adapterCause(err)?.kind;
    if ((code && PRISMA_UNAVAILABLE.has(code)) || (typeof kind === "string" && ADAPTER_UNAVAILABLE.has(kind)))
      return "unavailable";
    if ((code && PRISMA_CONFLICT.has(code)) || (typeof kind === "string" && ADAPTER_CONFLICT.has(kind)))
      return "conflict";
  }
  const state = databaseSqlState(err);
  if (state !== undefined && CONFLICT_STATES.has(state)) return "conflict";
  if (state !== undefined && TIMEOUT_STATES.has(state)) return "timeout";
  if (
    (state !== undefined && UNAVAILABLE_STATES.has(state)) ||
    (err instanceof Error &&
      /timeout exceeded when trying to connect|connection terminated|ECONNREFUSED|ECONNRESET|not queryable/i.test(
        err.message,
      ))
  )
    return "unavailable";
  return undefined;
}

/**
 * Turns database failures that are not faults of this service into problems a client
 * can act on: overload or a lost connection is 503 + Retry-After, a concurrent write
 * that lost a race is 409. Everything else stays a 500.
 */
export const translateDatabaseErrors: ErrorRequestHandler = (err: unknown, _req, _res, next) => {
  switch (databaseFailure(err)) {
    case "unavailable":
      next(
        new UnavailableError("The database is briefly unavailable; try again in a few seconds.", 1, {
          cause: err,
        }),
      );
      return;
    case "timeout":
      next(
        new UnavailableError(
          "The database did not answer within its time limit; try again in a few seconds, or narrow the request.",
          1,
          { cause: err },
        ),
      );
      return;
    case "conflict":
      next(
        new ConflictError("A concurrent change conflicted with this one; retry the request.", { cause: err }),
      );
      return;
    default:
      next(err);
  }
};
