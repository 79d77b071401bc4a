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

/**
 * In front of the MCP transport, for tools/call only (each call of a JSON-RPC batch counts):
 * - a read-only token calling a writing tool gets 403 insufficient_scope with a challenge
 *   naming the scope it needs (the MCP authorization spec's step-up signal; tools/list still
 *   shows every tool, with truthful annotations);
 * - per-user token bucket (per replica): 429 with Retry-After when it holds fewer tokens than
 *   the request has calls.
 */
export function toolCallLimits(options: {
  writingTools: ReadonlySet<string>;
  perMinute: number;
  burst: number;
  resourceMetadataUrl: string;
  now?: () => number;
  /** Users tracked before full buckets are swept away. */
  maxUsers?: number;
}): RequestHandler {
  const now = options.now ?? Date.now;
  const ratePerMs = options.perMinute / 60_000;
  const capacity = options.burst;
  const buckets = new Map<string, Bucket>();
  return (req, res, next) => {
    const tools = calledTools(req.body);
    if (tools.length === 0) {
      next();
      return;
    }
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
    if (tools.length > capacity) {
      // More calls than the bucket ever holds: no wait would let this request through.
      sendProblem(
        res,
        "bad-request",
        `A batch may hold at most ${capacity} tool calls; send ${tools.length} calls in smaller batches.`,
      );
      return;
    }
    const at = now();
    const bucket = buckets.get(identity.userId) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * ratePerMs);
    bucket.at = at;
    if (bucket.tokens < tools.length) {
      buckets.set(identity.userId, bucket);
      const waitSeconds = Math.max(1, Math.ceil((tools.length - bucket.tokens) / ratePerMs / 1000));
      res.setHeader("Retry-After", String(waitSeconds));
      sendProblem(
        res,
        "rate-limited",
        `Too many tool calls (${options.perMinute} per minute per user); retry after ${waitSeconds} s.`,
      );
      return;
    }
    bucket.tokens -= tools.length;
    buckets.set(identity.userId, bucket);
    // Full buckets carry no information: drop them so idle users cost no memory.
    if (buckets.size > (options.maxUsers ?? 50_000)) {
      for (const [key, b] of buckets) if (b.tokens + (at - b.at) * ratePerMs >= capacity) buckets.delete(key);
    }
    next();
  };
}
