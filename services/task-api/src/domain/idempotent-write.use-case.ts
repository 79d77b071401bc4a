import { AppError } from "@taskmesh/core";
import { requireAccount } from "./me.use-cases.ts";
import type { Store, StoredResponse, UnitOfWork } from "./ports.ts";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The response a write answered with, kept for its retries (the domain does not read it). */
export type RecordedResponse = Omit<StoredResponse, "requestHash">;

/** A write's Idempotency-Key and what identifies its request (a retry must be the same request). */
export interface IdempotentRequest {
  key: string;
  method: string;
  path: string;
  requestHash: string;
}

/**
 * Runs a user's write in one transaction, the account held for its length. With an
 * idempotency key, the key is locked, a recorded response for the same request is replayed,
 * and a new response is recorded in the same transaction as the change it describes: either
 * both commit or neither does. `write` runs its use case inside the given unit of work.
 */
export function createIdempotentWrite(store: Store, clock: () => Date = () => new Date()) {
  return async function run<R extends RecordedResponse>(
    userId: string,
    request: IdempotentRequest | undefined,
    write: (within: UnitOfWork) => Promise<R>,
  ): Promise<{ result: R | RecordedResponse; replayed: boolean }> {
    return store.transaction(async (repos) => {
      await requireAccount(repos, userId);
      const within: UnitOfWork = (work) => work(repos);
      if (request === undefined) return { result: await write(within), replayed: false };
      await repos.idempotency.lock(userId, request.key);
      const now = clock();
      const stored = await repos.idempotency.find(userId, request.key, now);
      if (stored) {
        if (stored.requestHash !== request.requestHash) {
          throw new AppError(
            "idempotency-key-reused",
            "This Idempotency-Key was used with a different request; use a new key.",
          );
        }
        return {
          result: { status: stored.status, headers: stored.headers, body: stored.body },
          replayed: true,
        };
      }
      const fresh = await write(within);
      await repos.idempotency.store({
        userId,
        key: request.key,
        method: request.method,
        path: request.path,
        requestHash: request.requestHash,
        status: fresh.status,
        headers: fresh.headers,
        body: fresh.body,
        expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
      });
      return { result: fresh, replayed: false };
    });
  };
}

export type IdempotentWrite = ReturnType<typeof createIdempotentWrite>;
