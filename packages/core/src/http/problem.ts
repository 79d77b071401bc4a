import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { z } from "zod";
import type { Logger } from "pino";
import {
  AppError,
  type ErrorCode,
  type FieldIssue,
  MethodNotAllowedError,
  UnauthenticatedError,
  UnavailableError,
} from "../errors.ts";

/** Base of every problem `type` URI; the suffix is the stable error code. */
export const PROBLEM_TYPE_BASE = "https://taskmesh.dev/problems/";

/** The single place where error codes meet HTTP. */
const PROBLEMS: Record<ErrorCode, { status: number; title: string }> = {
  "bad-request": { status: 400, title: "Bad request" },
  "malformed-json": { status: 400, title: "Malformed JSON" },
  "validation-failed": { status: 422, title: "Validation failed" },
  unauthenticated: { status: 401, title: "Authentication required" },
  forbidden: { status: 403, title: "Forbidden" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  "precondition-failed": { status: 412, title: "Precondition failed" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  "idempotency-key-reused": { status: 422, title: "Idempotency key reused with another request" },
  "idempotency-key-in-use": { status: 409, title: "Idempotency key in use" },
  "rate-limited": { status: 429, title: "Too many requests" },
  // 422, not 409: a full quota is no race a retry could win (clients and recurring-tasks retry 409).
  "quota-exceeded": { status: 422, title: "Quota exceeded" },
  unavailable: { status: 503, title: "Service unavailable" },
  internal: { status: 500, title: "Internal server error" },
};

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z
      .array(
        z.object({
          pointer: z.string(),
          in: z.enum(["body", "query", "path", "header"]),
          detail: z.string(),
        }),
      )
      .optional(),
  })
  .loose()
  .meta({ id: "Problem", description: "RFC 9457 problem details." });

export type Problem = z.infer<typeof problemSchema>;

function problemStatus(code: ErrorCode): number {
  return PROBLEMS[code].status;
}

/** Converts zod issues into field issues with JSON Pointers; unknown keys become one issue each. */
export function issuesFromZod(error: z.ZodError, where: FieldIssue["in"]): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const base = issue.path.map((p) => `/${String(p).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        pointer: `${base}/${key}`,
        in: where,
        detail: "is not a known field",
      }));
    }
    return [{ pointer: base, in: where, detail: issue.message }];
  });
}

export function sendProblem(
  res: Response,
  code: ErrorCode,
  detail: string,
  extra: { issues?: FieldIssue[]; extensions?: Record<string, unknown> } = {},
): void {
  const { status, title } = PROBLEMS[code];
  const body: Problem = {
    type: PROBLEM_TYPE_BASE + code,
    title,
    status,
    detail,
    instance: res.req.originalUrl.replace(/\?.*$/, ""),
    code,
    ...(res.locals.requestId ? { requestId: String(res.locals.requestId) } : {}),
    ...(extra.issues && extra.issues.length > 0 ? { errors: extra.issues } : {}),
    ...extra.extensions,
  };
  res.status(status).type("application/problem+json").send(JSON.stringify(body));
}

/** Errors raised by body-parser carry a `type`; these map to client errors. */
const BODY_PARSER_ERRORS: Partial<Record<string, ErrorCode>> = {
  "entity.parse.failed": "malformed-json",
  "entity.too.large": "payload-too-large",
  "encoding.unsupported": "unsupported-media-type",
  "charset.unsupported": "unsupported-media-type",
  "request.aborted": "bad-request",
  "request.size.invalid": "bad-request",
  "entity.verify.failed": "bad-request",
  "stream.encoding.set": "internal",
};

function isBodyParserError(err: unknown): err is { type: string; message: string } {
  return typeof err === "object" && err !== null && typeof (err as { type?: unknown }).type === "string";
}

/** Answers every error as RFC 9457 problem+json. 5xx are logged with the request id; no stack leaves. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    // The request's child logger carries the request id; it is absent only if requestContext was not mounted.
    const log = (req as { log?: Logger }).log ?? logger;
    if (err instanceof AppError) {
      if (err instanceof UnauthenticatedError) res.setHeader("WWW-Authenticate", err.challenge);
      if (err instanceof UnavailableError) res.setHeader("Retry-After", String(err.retryAfterSeconds));
      if (err instanceof MethodNotAllowedError) res.setHeader("Allow", err.allow.join(", "));
      if (problemStatus(err.code) >= 500) log.error({ err }, "request failed");
      sendProblem(res, err.code, err.message, { issues: err.issues, extensions: err.extensions });
      return;
    }
    const parserCode = isBodyParserError(err) ? BODY_PARSER_ERRORS[err.type] : undefined;
    if (isBodyParserError(err) && parserCode !== undefined) {
      const code = parserCode;
      const detail =
        code === "malformed-json"
          ? "The request body is not valid JSON."
          : code === "payload-too-large"
            ? "The request body is larger than this endpoint accepts."
            : err.message;
      if (code === "internal") log.error({ err }, "request failed");
      sendProblem(res, code, detail);
      return;
    }
    log.error({ err }, "unhandled error");
    sendProblem(res, "internal", "An unexpected error occurred. Quote the request id when reporting it.");
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, "not-found", `No route matches ${req.method} ${req.path}.`);
};
