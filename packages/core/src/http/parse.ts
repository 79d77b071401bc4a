import type { Request } from "express";
import type { z } from "zod";
import { BadRequestError, InvalidError } from "../errors.ts";
import { issuesFromZod } from "./problem.ts";

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

/** Opaque cursors: base64url JSON bound to the query they came from. */
export function encodeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

export function invalidCursor(): BadRequestError {
  return new BadRequestError("The cursor is not one this endpoint issued for these parameters.", {
    issues: [{ pointer: "/cursor", in: "query", detail: "is invalid or belongs to another query" }],
  });
}

/** Reads a cursor made by encodeCursor; anything undecodable or off-schema is 400. */
export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.infer<S> {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) return result.data;
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw invalidCursor();
}
