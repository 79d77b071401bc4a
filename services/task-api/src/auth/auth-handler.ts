import { toNodeHandler } from "better-auth/node";
import express, { type Request, type RequestHandler, type Router } from "express";
import { authRateLimits, type AuthRateLimitOptions } from "../http/rate-limit.ts";
import { CLIENT_IP_HEADER, type Auth } from "./auth.ts";

/** Like every other body the API reads (jsonBody on /v1). */
const BODY_LIMIT = "64kb";
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const CREDENTIAL_PATHS = new Set(["/sign-in/email", "/sign-up/email"]);

/**
 * Better Auth takes a Fetch-Metadata request for a browser's and then demands an Origin
 * (formCsrfMiddleware in better-auth/api/middlewares/origin-check). A browser that sends Fetch
 * Metadata always sends Sec-Fetch-Site with it; undici's fetch sends Sec-Fetch-Mode alone (the
 * fetch spec sets the mode header, the site header is the browser's). So a request without
 * cookies and without Sec-Fetch-Site is a server-side client, exactly like curl: the lone
 * mode/dest/user headers are dropped so Better Auth treats it as one. Anything with a cookie or
 * with Sec-Fetch-Site keeps every header and Better Auth's CSRF checks unchanged.
 */
const serverClientsAreNotBrowsers: RequestHandler = (req, _res, next) => {
  if (req.headers.cookie === undefined && req.headers["sec-fetch-site"] === undefined) {
    delete req.headers["sec-fetch-mode"];
    delete req.headers["sec-fetch-dest"];
    delete req.headers["sec-fetch-user"];
  }
  next();
};

/**
 * Better Auth reads the client IP from a header (advanced.ipAddress.ipAddressHeaders); without
 * one it keys its limits on a single shared bucket, and X-Forwarded-For would let the client
 * choose its own key. This header carries req.ip, the address Express trusts (TRUST_PROXY_HOPS),
 * and is always overwritten, so a client cannot set it.
 */
const clientIpForBetterAuth: RequestHandler = (req, _res, next) => {
  Reflect.deleteProperty(req.headers, CLIENT_IP_HEADER);
  if (req.ip !== undefined) req.headers[CLIENT_IP_HEADER] = req.ip;
  next();
};

/**
 * The body, at most 64 KiB in any media type (413 problem+json beyond), read here and handed to
 * Better Auth as text: better-call re-serialises req.body when the stream is already consumed
 * (better-call/adapters/node/request getRequest). Compressed bodies are refused (415), so the
 * limit is the size Better Auth parses.
 */
// express.raw is typed for node:http requests; in an Express app it receives Express's.
const readBody: RequestHandler = express.raw({ type: () => true, limit: BODY_LIMIT, inflate: false });
const limitedBody: RequestHandler = (req, res, next) => {
  if (!BODY_METHODS.has(req.method)) {
    next();
    return;
  }
  readBody(req, res, (err?: unknown) => {
    if (err) {
      next(err);
      return;
    }
    const body: unknown = req.body;
    // An empty body (Content-Length: 0) stays absent, as Better Auth would have read it.
    if (Buffer.isBuffer(body)) req.body = body.length > 0 ? body.toString("utf8") : undefined;
    next();
  });
};

/** The email of a sign-in or sign-up body (JSON or form), lower-cased; undefined if none. */
function emailOf(req: Request): string | undefined {
  if (!CREDENTIAL_PATHS.has(req.path) || typeof req.body !== "string") return undefined;
  let email: unknown;
  if (req.is("application/x-www-form-urlencoded")) {
    email = new URLSearchParams(req.body).get("email");
  } else {
    try {
      email = (JSON.parse(req.body) as { email?: unknown } | null)?.email;
    } catch {
      return undefined;
    }
  }
  return typeof email === "string" && email.trim() !== "" ? email.trim().toLowerCase() : undefined;
}

/**
 * Better Auth mounted at /api/auth behind the guards it lacks: the trusted client IP for its own
 * limiter, server-side clients told apart from browsers for its CSRF check, a body limit, and the
 * sign-in/sign-up and client-registration limits (per trusted IP, and per email).
 */
export function authHandler(auth: Auth, limits: AuthRateLimitOptions): Router {
  const router = express.Router();
  const limiters = authRateLimits(limits, emailOf);
  router.use(clientIpForBetterAuth, serverClientsAreNotBrowsers);
  router.post([...CREDENTIAL_PATHS], limiters.signInPerIp);
  router.post("/oauth2/register", limiters.registrationPerIp);
  router.use(limitedBody);
  router.post([...CREDENTIAL_PATHS], limiters.signInPerEmail);
  router.all("/{*rest}", toNodeHandler(auth));
  return router;
}
