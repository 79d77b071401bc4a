import {
  BadRequestError,
  InvalidError,
  issuesFromZod,
  NotFoundError,
  PreconditionFailedError,
} from "@taskmesh/core";
import type { Request } from "express";
import type { z } from "zod";

function summary(issues: { pointer: string; detail: string }[]): string {
  return issues.map((i) => `${i.pointer || "(body)"}: ${i.detail}`).join("; ");
}

/** Parses a JSON body; a body that breaks the schema is 422 with each field named. */
export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(req.body ?? undefined);
  if (!result.success) {
    const issues = issuesFromZod(result.error, "body");
    throw new InvalidError(
      req.body === undefined ? "A JSON object body is required." : summary(issues),
      issues,
    );
  }
  return result.data;
}

/** Parses the query string; unknown or malformed parameters are 400. */
export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.infer<S> {
  const result = schema.safeParse(req.query);
  if (!result.success) {
    const issues = issuesFromZod(result.error, "query");
    throw new BadRequestError(summary(issues), { issues });
  }
  return result.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id that is not a UUID cannot exist: 404, exactly like an unknown id. */
export function pathId(req: Request, what: string): string {
  const id = req.params.id;
  if (typeof id !== "string" || !UUID.test(id)) throw new NotFoundError(what);
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

/** Opaque cursors: base64url JSON bound to the query they came from. */
export function encodeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

export function invalidCursor(): BadRequestError {
  return new BadRequestError("The cursor is not one this endpoint issued for these parameters.", {
    issues: [{ pointer: "/cursor", in: "query", detail: "is invalid or belongs to another query" }],
  });
}

export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.infer<S> {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) return result.data;
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw invalidCursor();
}
