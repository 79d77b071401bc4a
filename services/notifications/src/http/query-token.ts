import type { RequestHandler } from "express";

const PARAM = "access_token";

/**
 * Browsers' EventSource cannot set headers, so the live stream also takes the access token as
 * `?access_token=` (RFC 6750 §2.3). On `path` only, and only when no Authorization header is
 * sent, the parameter is moved into `Authorization: Bearer` and removed from the URL before
 * anything logs it (the request logger redacts the header, and the URL no longer has it).
 */
export function queryAccessToken(path: string): RequestHandler {
  return (req, _res, next) => {
    const question = req.url.indexOf("?");
    if (question === -1 || req.url.slice(0, question) !== path) {
      next();
      return;
    }
    const params = new URLSearchParams(req.url.slice(question + 1));
    const token = params.get(PARAM);
    if (token === null) {
      next();
      return;
    }
    params.delete(PARAM);
    const rest = params.toString();
    req.url = rest === "" ? path : `${path}?${rest}`;
    // Express copied the URL before any middleware ran, and the request logger reads that copy.
    req.originalUrl = req.url;
    if (req.headers.authorization === undefined && token !== "")
      req.headers.authorization = `Bearer ${token}`;
    next();
  };
}
