import { createHash } from "node:crypto";
import { AppError, BadRequestError } from "@taskmesh/core";
import type { Request, Response } from "express";
import type { Database, Tx } from "../data/database.ts";
import { findStoredResponse, lockKey, storeResponse } from "../data/idempotency.repository.ts";
import { requireAccount } from "../domain/me.use-cases.ts";

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** JSON with sorted keys, so {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  // undefined (absent body) hashes like null
  return JSON.stringify(value ?? null);
}

function send(res: Response, result: HttpResult): void {
  for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
  if (result.body === undefined) res.status(result.status).end();
  else res.status(result.status).json(result.body);
}

/**
 * Runs a POST in one transaction. With an Idempotency-Key, the key is locked, a stored
 * response for the same request is replayed, and a new response is stored in the same
 * transaction as the change it describes: either both commit or neither does.
 */
export async function runPost(
  db: Database,
  req: Request,
  res: Response,
  userId: string,
  operation: (tx: Tx) => Promise<HttpResult>,
  clock: () => Date = () => new Date(),
): Promise<void> {
  const key = req.header("idempotency-key");
  if (key === undefined) {
    send(
      res,
      await db.transaction(async (tx) => {
        await requireAccount(tx, userId);
        return operation(tx);
      }),
    );
    return;
  }
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new BadRequestError("Idempotency-Key must be 1-255 visible ASCII characters.", {
      issues: [
        { pointer: "/idempotency-key", in: "header", detail: "must be 1-255 visible ASCII characters" },
      ],
    });
  }
  const path = req.originalUrl.split("?")[0] ?? req.path;
  const requestHash = createHash("sha256")
    .update(`${req.method}\n${path}\n${canonicalJson(req.body ?? null)}`)
    .digest("hex");

  const { result, replayed } = await db.transaction(async (tx) => {
    await requireAccount(tx, userId);
    await lockKey(tx, userId, key);
    const now = clock();
    const stored = await findStoredResponse(tx, userId, key, now);
    if (stored) {
      if (stored.requestHash !== requestHash) {
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
    const fresh = await operation(tx);
    await storeResponse(tx, {
      userId,
      key,
      method: req.method,
      path,
      requestHash,
      status: fresh.status,
      headers: fresh.headers ?? {},
      body: fresh.body,
      expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
    });
    return { result: fresh, replayed: false };
  });
  if (replayed) res.setHeader("Idempotent-Replayed", "true");
  send(res, result);
}
