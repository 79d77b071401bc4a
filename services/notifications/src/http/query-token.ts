import type { RequestHandler } from "express";

const PARAM = "access_token";

/**
 * Browsers' EventSource cannot set headers, so the live stream also takes the access token as
 * `?access_token=` (RFC 6750 §2.3). On `path` only (as Express routes it: any letter case, a
 * trailing slash), and only when no Authorization header is sent, the parameter (any letter
 * case) is moved into `Authorization: Bearer` and removed from the URL before anything logs it.
 * The request logger redacts token-like parameters on every other path as well.
 */
export function queryAccessToken(path: string): RequestHandler {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const matches = new RegExp(`^${escaped}/?$`, "i");
  return (req, _res, next) => {
    const question = req.url.indexOf("?");
    const pathname = question === -1 ? req.url : req.url.slice(0, question);
    if (question === -1 || !matches.test(pathname)) {
      next();
      return;
    }
    const params = new URLSearchParams(req.url.slice(question + 1));
    let token: string | undefined;
    for (const name of [...params.keys()]) {
      if (name.toLowerCase() !== PARAM) continue;
      token ??= params.get(name) ?? undefined;
      params.delete(name);
    }
    if (token === undefined) {
      next();
      return;
    }
    const rest = params.toString();
    req.url = rest === "" ? pathname : `${pathname}?${rest}`;
    // Express copied the URL before any middleware ran, and the request logger reads that copy.
    req.originalUrl = req.url;
    if (req.headers.authorization === undefined && token !== "")
      req.headers.authorization = `Bearer ${token}`;
    next();
  };
}
