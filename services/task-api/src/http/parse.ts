import { isUuid, NotFoundError, PreconditionFailedError } from "@taskmesh/core";
import type { Request } from "express";

/** A path id that is not a UUID cannot exist: 404, exactly like an unknown id. */
export function pathId(req: Request, what: string): string {
  const id = req.params.id;
  if (typeof id !== "string" || !isUuid(id)) throw new NotFoundError(what);
  return id.toLowerCase();
}

export function etag(version: number): string {
  return `"${version}"`;
}

/** The version named by If-Match, or undefined when the header is absent or "*". */
export function expectedVersion(req: Request): number | undefined {
  const header = req.header("if-match");
  if (header === undefined || header.trim() === "*") return undefined;
  const m = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  // Weak tags never match under If-Match (RFC 9110 13.1.1), nor does anything that is not ours.
  if (!m?.[1] || header.trim().startsWith("W/")) {
    throw new PreconditionFailedError(
      "If-Match does not name a current version; use the ETag from the last response.",
    );
  }
  return Number(m[1]);
}
