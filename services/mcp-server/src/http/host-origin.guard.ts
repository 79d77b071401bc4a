import { sendProblem } from "@taskmesh/core";
import type { RequestHandler } from "express";

/**
 * DNS-rebinding protection: a page on another site that resolves its own name to this server
 * sends its own Host (and Origin). Only the configured hosts pass; a request with an Origin
 * passes only from an allowed origin (clients that are not browsers send none). Entries with
 * a port match host:port exactly, entries without one match the host name on any port; the
 * same for origins ("http://localhost" allows a local client on any port).
 */
export function hostOriginGuard(options: {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}): RequestHandler {
  const exact = new Set(options.allowedHosts.filter((h) => /:\d+$/.test(h)).map((h) => h.toLowerCase()));
  const names = new Set(options.allowedHosts.filter((h) => !/:\d+$/.test(h)).map((h) => h.toLowerCase()));
  const origins = new Set(options.allowedOrigins.map((o) => o.replace(/\/$/, "").toLowerCase()));
  const originAllowed = (origin: string): boolean => {
    const normalized = origin.replace(/\/$/, "").toLowerCase();
    if (origins.has(normalized)) return true;
    try {
      const url = new URL(normalized);
      return origins.has(`${url.protocol}//${url.hostname}`);
    } catch {
      return false;
    }
  };
  const hostnameOf = (host: string): string => {
    try {
      return new URL(`http://${host}`).hostname;
    } catch {
      return "";
    }
  };
  return (req, res, next) => {
    const host = (req.headers.host ?? "").toLowerCase();
    if (host === "" || !(exact.has(host) || names.has(hostnameOf(host)))) {
      sendProblem(res, "forbidden", "Invalid Host header: this host name is not served here.");
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin)) {
      sendProblem(res, "forbidden", "Invalid Origin header: requests from this origin are not allowed.");
      return;
    }
    next();
  };
}
