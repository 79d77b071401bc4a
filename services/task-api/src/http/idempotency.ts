import { createHash } from "node:crypto";
import { BadRequestError } from "@taskmesh/core";
import type { Request, Response } from "express";
import type { IdempotentWrite } from "../domain/idempotent-write.use-case.ts";
import type { UnitOfWork } from "../domain/ports.ts";

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
 * Runs a POST as one idempotent write (domain/idempotent-write.use-case.ts): with an
 * Idempotency-Key, a retry of the same request replays the response recorded with the change.
 * `operation` runs its use case within the unit of work it is given.
 */
export async function runPost(
  write: IdempotentWrite,
  req: Request,
  res: Response,
  userId: string,
  operation: (within: UnitOfWork) => Promise<HttpResult>,
): Promise<void> {
  const key = req.header("idempotency-key");
  const recorded = async (within: UnitOfWork) => {
    const result = await operation(within);
    return { status: result.status, headers: result.headers ?? {}, body: result.body };
  };
  if (key === undefined) {
    send(res, (await write(userId, undefined, recorded)).result);
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
  const { result, replayed } = await write(userId, { key, method: req.method, path, requestHash }, recorded);
  if (replayed) res.setHeader("Idempotent-Replayed", "true");
  send(res, result);
}
