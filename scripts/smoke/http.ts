/** HTTP for the smoke test: requests that fail with a StepError saying what came back. */
import type { z } from "zod";
import { problemSchema } from "./schemas.ts";

/** A step failed: the message says what was expected and what came back. */
export class StepError extends Error {}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Why a request got no answer, in words (fetch hides the cause). */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return "no answer in time (request timeout)";
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}

export function snippet(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/** What a non-expected answer says: status and the problem+json title/detail, or the start of the body. */
export function describeAnswer(answer: HttpAnswer): string {
  let said = snippet(answer.text);
  try {
    const problem = problemSchema.safeParse(JSON.parse(answer.text));
    if (problem.success && (problem.data.title ?? problem.data.detail))
      said = [problem.data.title, problem.data.detail].filter(Boolean).join(": ");
  } catch {
    // not JSON: the text itself
  }
  return `HTTP ${answer.status}${said ? ` (${said})` : ""}`;
}

export function parseJson<T>(schema: z.ZodType<T>, answer: HttpAnswer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw new StepError(`${what}: expected JSON, got ${describeAnswer(answer)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new StepError(`${what}: unexpected response body (${issues})`);
  }
  return parsed.data;
}

export type Request = (
  method: string,
  url: URL | string,
  init?: { headers?: Record<string, string>; body?: unknown },
) => Promise<HttpAnswer>;

/** A JSON request to `base` (or an absolute URL) with a timeout; a network failure is a StepError. */
export function createRequest(base: URL, timeoutMs: number): Request {
  return async (method, url, init = {}) => {
    const target = typeof url === "string" ? new URL(url, base) : url;
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: {
          accept: "application/json",
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new StepError(`${method} ${target.href}: ${describeNetworkError(error)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new StepError(`${method} ${target.href}: body not read (${describeNetworkError(error)})`);
    }
    return { status: response.status, headers: response.headers, text };
  };
}

export function expectStatus(answer: HttpAnswer, expected: number, what: string): void {
  if (answer.status !== expected)
    throw new StepError(`${what}: expected HTTP ${expected}, got ${describeAnswer(answer)}`);
}

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });

/** A URL compared without a trailing slash. */
export function sameUrl(url: string): string {
  try {
    return new URL(url).href.replace(/\/$/, "");
  } catch {
    return url;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
