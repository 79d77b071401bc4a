import { sendProblem } from "@taskmesh/core";
import type { Request, RequestHandler, Response } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";

const WINDOW_MS = 60_000;

function limiter(
  name: string,
  perMinute: number,
  key: (req: Request, res: Response) => string,
): RequestHandler {
  if (perMinute <= 0)
    return (_req, _res, next) => {
      next();
    };
  return rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: name,
    keyGenerator: key,
    handler: (_req, res) => {
      sendProblem(
        res,
        "rate-limited",
        `Too many requests (${perMinute} per minute per ${name}); retry after the Retry-After delay.`,
      );
    },
  });
}

/**
 * As task-api's: a per-IP limit in front of everything a user calls (the client IP Express
 * trusts, TRUST_PROXY_HOPS; IPv6 grouped by /56) and a per-user limit behind authentication.
 * Both answer 429 problem+json with Retry-After and the IETF RateLimit / RateLimit-Policy
 * headers. In-memory: each replica limits on its own.
 */
export function rateLimits(options: { ipPerMinute: number; userPerMinute: number }): {
  perIp: RequestHandler;
  perUser: RequestHandler;
} {
  return {
    perIp: limiter("ip", options.ipPerMinute, (req) => ipKeyGenerator(req.ip ?? "unknown")),
    perUser: limiter("user", options.userPerMinute, (_req, res) => `user:${String(res.locals.userId)}`),
  };
}
