import { sendProblem } from "@taskmesh/core";
import type { RequestHandler } from "express";
import { bearerChallenge, currentBearer, OAUTH_SCOPES } from "@taskmesh/auth";

interface Bucket {
  tokens: number;
  at: number;
}

/** The tools a JSON-RPC body calls: one name per tools/call message (a batch may hold several). */
export function calledTools(body: unknown): string[] {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  const names: string[] = [];
  for (const message of messages) {
    if (typeof message !== "object" || message === null) continue;
    const m = message as { method?: unknown; params?: { name?: unknown } };
    if (m.method === "tools/call") names.push(typeof m.params?.name === "string" ? m.params.name : "");
  }
  return names;
}

/** The default cost of a message: one per tools/call. */
const onePerToolCall = (message: unknown): number =>
  typeof message === "object" && message !== null && (message as { method?: unknown }).method === "tools/call"
    ? 1
    : 0;

/**
 * In front of the MCP transport, for messages that cost something (`cost`, e.g. the task-api
 * calls they make: http/request-cost.ts; every message of a JSON-RPC batch counts):
 * - a read-only token calling a writing tool gets 403 insufficient_scope with a challenge
 *   naming the scope it needs (the MCP authorization spec's step-up signal; tools/list still
 *   shows every tool, with truthful annotations);
 * - per-user token bucket (per replica): 429 with Retry-After when it holds fewer tokens than
 *   the request costs; a request that costs more than the bucket ever holds is 400.
 */
export function toolCallLimits(options: {
  writingTools: ReadonlySet<string>;
  perMinute: number;
  burst: number;
  resourceMetadataUrl: string;
  now?: () => number;
  /** Users tracked before full buckets are swept away. */
  maxUsers?: number;
  /** What one JSON-RPC message costs; default one per tools/call. */
  cost?: (message: unknown) => number;
}): RequestHandler {
  const now = options.now ?? Date.now;
  const ratePerMs = options.perMinute / 60_000;
  const capacity = options.burst;
  const buckets = new Map<string, Bucket>();
  const costOf = options.cost ?? onePerToolCall;
  return (req, res, next) => {
    const body: unknown = req.body;
    const cost = (Array.isArray(body) ? body : [body]).reduce((sum: number, m) => sum + costOf(m), 0);
    if (cost === 0) {
      next();
      return;
    }
    const tools = calledTools(body);
    const identity = currentBearer(res);
    const tool = tools.find((name) => options.writingTools.has(name));
    if (identity.scope === "read" && tool !== undefined) {
      res.setHeader(
        "WWW-Authenticate",
        bearerChallenge(
          { resourceMetadataUrl: options.resourceMetadataUrl },
          {
            code: "insufficient_scope",
            description: `${tool} changes tasks; this token is read-only`,
            scope: `${OAUTH_SCOPES.read} ${OAUTH_SCOPES.write}`,
          },
        ),
      );
      sendProblem(
        res,
        "forbidden",
        `${tool} changes tasks and needs a read-write token (scope ${OAUTH_SCOPES.write}).`,
      );
      return;
    }
    if (cost > capacity) {
      // More calls than the bucket ever holds: no wait would let this request through.
      sendProblem(
        res,
        "bad-request",
        `A request may make at most ${capacity} task-api calls (each tool call, each item of a batch tool, resources/read and prompts/get count); this one makes ${cost}: send it in smaller batches.`,
        { extensions: { limit: capacity, cost } },
      );
      return;
    }
    const at = now();
    const bucket = buckets.get(identity.userId) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * ratePerMs);
    bucket.at = at;
    if (bucket.tokens < cost) {
      buckets.set(identity.userId, bucket);
      const waitSeconds = Math.max(1, Math.ceil((cost - bucket.tokens) / ratePerMs / 1000));
      res.setHeader("Retry-After", String(waitSeconds));
      sendProblem(
        res,
        "rate-limited",
        `Too many calls (${options.perMinute} per minute per user, counted in task-api calls: each item of a batch tool, resources/read and prompts/get count); this request makes ${cost}; retry after ${waitSeconds} s.`,
        { extensions: { cost } },
      );
      return;
    }
    bucket.tokens -= cost;
    buckets.set(identity.userId, bucket);
    // Full buckets carry no information: drop them so idle users cost no memory.
    if (buckets.size > (options.maxUsers ?? 50_000)) {
      for (const [key, b] of buckets) if (b.tokens + (at - b.at) * ratePerMs >= capacity) buckets.delete(key);
    }
    next();
  };
}
