import { sendProblem } from "@taskmesh/core";
import type { RequestHandler } from "express";
import { bearerChallenge, currentBearer, OAUTH_SCOPES } from "@taskmesh/auth";

interface Bucket {
  tokens: number;
  at: number;
}

/** The tool a JSON-RPC request body calls, if it is a tools/call. */
function calledTool(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const message = body as { method?: unknown; params?: { name?: unknown } };
  if (message.method !== "tools/call") return undefined;
  return typeof message.params?.name === "string" ? message.params.name : "";
}

/**
 * In front of the MCP transport, for tools/call only:
 * - a read-only token calling a writing tool gets 403 insufficient_scope with a challenge
 *   naming the scope it needs (the MCP authorization spec's step-up signal; tools/list still
 *   shows every tool, with truthful annotations);
 * - per-user token bucket (per replica): 429 with Retry-After when it is empty.
 */
export function toolCallLimits(options: {
  writingTools: ReadonlySet<string>;
  perMinute: number;
  burst: number;
  resourceMetadataUrl: string;
  now?: () => number;
}): RequestHandler {
  const now = options.now ?? Date.now;
  const ratePerMs = options.perMinute / 60_000;
  const capacity = options.burst;
  const buckets = new Map<string, Bucket>();
  return (req, res, next) => {
    const tool = calledTool(req.body);
    if (tool === undefined) {
      next();
      return;
    }
    const identity = currentBearer(res);
    if (identity.scope === "read" && options.writingTools.has(tool)) {
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
    const at = now();
    const bucket = buckets.get(identity.userId) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * ratePerMs);
    bucket.at = at;
    if (bucket.tokens < 1) {
      buckets.set(identity.userId, bucket);
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
      res.setHeader("Retry-After", String(waitSeconds));
      sendProblem(
        res,
        "rate-limited",
        `Too many tool calls (${options.perMinute} per minute per user); retry after ${waitSeconds} s.`,
      );
      return;
    }
    bucket.tokens -= 1;
    buckets.set(identity.userId, bucket);
    // Full buckets carry no information: drop them so idle users cost no memory.
    if (buckets.size > 50_000) {
      for (const [key, b] of buckets) if (b.tokens + (at - b.at) * ratePerMs >= capacity) buckets.delete(key);
    }
    next();
  };
}
