import { sendProblem } from "@taskmesh/core";
import type { Request, RequestHandler } from "express";
import { ipKeyGenerator, rateLimit } from "express-rate-limit";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

type KeyGenerator = (req: Request, res: Parameters<RequestHandler>[1]) => string | Promise<string>;

function limiter(
  name: string,
  limit: number,
  window: { ms: number; label: string },
  what: string,
  key: KeyGenerator,
  skip?: (req: Request) => boolean,
): RequestHandler {
  if (limit <= 0)
    return (_req, _res, next) => {
      next();
    };
  return rateLimit({
    windowMs: window.ms,
    limit,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: name,
    keyGenerator: key,
    ...(skip ? { skip } : {}),
    handler: (_req, res) => {
      sendProblem(
        res,
        "rate-limited",
        `Too many requests (${limit} per ${window.label} per ${what}); retry after the Retry-After delay.`,
      );
    },
  });
}

/** The client address Express trusts (TRUST_PROXY_HOPS), IPv6 grouped by /56. */
const clientIp = (req: Request): string => ipKeyGenerator(req.ip ?? "unknown");

/**
 * Per-IP limit in front of everything (IPv6 grouped by /56), per-user limit behind
 * authentication. Both answer 429 problem+json with Retry-After and the IETF
 * RateLimit / RateLimit-Policy headers. In-memory: each replica limits on its own.
 */
export function rateLimits(options: { ipPerMinute: number; userPerMinute: number }) {
  return {
    perIp: limiter("ip", options.ipPerMinute, { ms: MINUTE_MS, label: "minute" }, "ip", clientIp),
    perUser: limiter(
      "user",
      options.userPerMinute,
      { ms: MINUTE_MS, label: "minute" },
      "user",
      (_req, res) => `user:${String(res.locals.userId)}`,
    ),
  };
}

export interface AuthRateLimitOptions {
  /** Sign-in and sign-up attempts per minute per client IP (the one Express trusts); 0 = off. */
  signInPerIpPerMinute: number;
  /** Sign-in and sign-up attempts per minute per email address, from any IP; 0 = off. */
  signInPerEmailPerMinute: number;
  /** OAuth dynamic client registrations per hour per client IP; 0 = off. */
  clientRegistrationsPerIpPerHour: number;
}

/**
 * The limits in front of Better Auth's credential and registration endpoints, keyed like the
 * rest of the API on req.ip (never on a forwarded header Express does not trust), and for
 * sign-in/sign-up also on the email address, so that spreading guesses over many addresses does
 * not buy more guesses at one account. perEmail needs `emailOf` to read the already-read body.
 */
export function authRateLimits(options: AuthRateLimitOptions, emailOf: (req: Request) => string | undefined) {
  return {
    signInPerIp: limiter(
      "auth-ip",
      options.signInPerIpPerMinute,
      { ms: MINUTE_MS, label: "minute" },
      "ip for sign-in and sign-up",
      clientIp,
    ),
    signInPerEmail: limiter(
      "auth-email",
      options.signInPerEmailPerMinute,
      { ms: MINUTE_MS, label: "minute" },
      "email address for sign-in and sign-up",
      (req) => `email:${emailOf(req) ?? ""}`,
      (req) => emailOf(req) === undefined,
    ),
    registrationPerIp: limiter(
      "registration-ip",
      options.clientRegistrationsPerIpPerHour,
      { ms: HOUR_MS, label: "hour" },
      "ip for OAuth client registration",
      clientIp,
    ),
  };
}
