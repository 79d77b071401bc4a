/**
 * The one error family of taskmesh. Domain code throws these; only the HTTP error
 * middleware (http/problem.ts) knows how they map to status codes and problem types.
 */

/** One invalid input, named by its location in the request. */
export interface FieldIssue {
  /** JSON Pointer into the request part the issue is about, e.g. "/title" or "/tags/2". */
  pointer: string;
  /** Which part of the request: body, query, path or header. */
  in: "body" | "query" | "path" | "header";
  detail: string;
}

export type ErrorCode =
  | "bad-request"
  | "malformed-json"
  | "validation-failed"
  | "unauthenticated"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "conflict"
  | "precondition-failed"
  | "payload-too-large"
  | "unsupported-media-type"
  | "idempotency-key-reused"
  | "idempotency-key-in-use"
  | "rate-limited"
  | "quota-exceeded"
  | "unavailable"
  | "internal";

export interface AppErrorOptions {
  cause?: unknown;
  issues?: FieldIssue[];
  /** Extra members for the problem document (RFC 9457 extension members). */
  extensions?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[];
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.issues = options.issues ?? [];
    this.extensions = options.extensions ?? {};
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super("bad-request", message, options);
  }
}

/** Well-formed input that breaks a rule (wrong type, unknown field, invalid RRULE...). */
export class InvalidError extends AppError {
  constructor(message: string, issues: FieldIssue[], options?: Omit<AppErrorOptions, "issues">) {
    super("validation-failed", message, { ...options, issues });
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, options?: AppErrorOptions) {
    super("not-found", `${what} was not found.`, options);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super("conflict", message, options);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super("precondition-failed", message, options);
  }
}

export class UnauthenticatedError extends AppError {
  /** Value for the WWW-Authenticate response header. */
  readonly challenge: string;
  constructor(message: string, challenge: string, options?: AppErrorOptions) {
    super("unauthenticated", message, options);
    this.challenge = challenge;
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, options?: AppErrorOptions) {
    super("forbidden", message, options);
  }
}

/**
 * A per-user quota is full: the request itself is fine, but the account holds as many of `quota`
 * as it may. Retrying does not help until the user deletes some; the problem names the quota
 * and its limit.
 */
export class QuotaExceededError extends AppError {
  readonly quota: string;
  readonly limit: number;
  constructor(quota: string, limit: number, message: string, options?: AppErrorOptions) {
    super("quota-exceeded", message, { ...options, extensions: { quota, limit, ...options?.extensions } });
    this.quota = quota;
    this.limit = limit;
  }
}

/** The path exists, but not with this method; `allow` is what it answers to (the Allow header). */
export class MethodNotAllowedError extends AppError {
  readonly allow: readonly string[];
  constructor(method: string, path: string, allow: readonly string[], options?: AppErrorOptions) {
    super(
      "method-not-allowed",
      `${path} does not answer ${method}; it answers ${allow.join(", ")}.`,
      options,
    );
    this.allow = allow;
  }
}

/** A dependency is overloaded or down; the client should retry after a delay. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, options?: AppErrorOptions) {
    super("unavailable", message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
