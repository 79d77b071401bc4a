import { sendProblem } from "@taskmesh/core";
import type { RequestHandler } from "express";

/** The host name of a Host value or entry (lowercase, IPv4 and IPv6 normalized), or "". */
function hostnameOf(host: string): string {
  // Only a name and a port: the URL parser would take "evil.example@localhost" as localhost.
  if (!/^[\w.\-[\]:]+$/.test(host)) return "";
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return "";
  }
}

/**
 * Whether a host (a Host value, an allowed-hosts entry or a listen address, with or without a
 * port) names this machine's loopback interface: localhost, 127.0.0.0/8 or ::1.
 */
export function isLoopback(host: string): boolean {
  // A listen address may be a bare IPv6 address (HOST=::1); a Host value has it in brackets.
  const bareIpv6 = !host.startsWith("[") && host.split(":").length > 2;
  const name = hostnameOf(bareIpv6 ? `[${host}]` : host);
  return name === "localhost" || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * DNS-rebinding protection: a page on another site that resolves its own name to this server
 * sends its own Host (and Origin). Only the configured hosts pass; a request with an Origin
 * passes only from an allowed origin (clients that are not browsers send none). Entries with
 * a port match host:port exactly, entries without one match the host name on any port; the
 * same for origins ("http://localhost" allows a local client on any port).
 *
 * Loopback names are one host: if any entry is one (the development default resource URL
 * http://localhost:3001), every loopback name passes on any port (localhost, 127.0.0.1,
 * [::1]); the same for allowed origins (http://localhost:6274 also admits
 * http://127.0.0.1:6274 and http://[::1]:6274). A rebinding page cannot send them: its Host is the attacker's name, and a page whose
 * own Host is a loopback name already runs on this machine.
 */
export function hostOriginGuard(options: {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}): RequestHandler {
  const exact = new Set(options.allowedHosts.filter((h) => /:\d+$/.test(h)).map((h) => h.toLowerCase()));
  const names = new Set(options.allowedHosts.filter((h) => !/:\d+$/.test(h)).map((h) => h.toLowerCase()));
  const loopback = options.allowedHosts.some(isLoopback);
  // Loopback origins are one origin per scheme and port too: http://127.0.0.1:6274 is the
  // client that http://localhost:6274 names.
  const originKey = (origin: string): string => {
    const normalized = origin.replace(/\/$/, "").toLowerCase();
    try {
      const url = new URL(normalized);
      if (!isLoopback(url.host)) return normalized;
      return `${url.protocol}//loopback${url.port ? `:${url.port}` : ""}`;
    } catch {
      return normalized;
    }
  };
  const origins = new Set(options.allowedOrigins.map(originKey));
  const originAllowed = (origin: string): boolean => {
    const key = originKey(origin);
    if (origins.has(key)) return true;
    try {
      const url = new URL(key);
      return origins.has(`${url.protocol}//${url.hostname}`);
    } catch {
      return false;
    }
  };
  return (req, res, next) => {
    const host = (req.headers.host ?? "").toLowerCase();
    const allowed = exact.has(host) || names.has(hostnameOf(host)) || (loopback && isLoopback(host));
    if (host === "" || !allowed) {
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
