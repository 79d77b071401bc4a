import { isIPv6 } from "node:net";
import { sendProblem } from "@taskmesh/core";
import type { RequestHandler } from "express";

interface Bucket {
  tokens: number;
  at: number;
}

/** The eight 16-bit groups of an IPv6 address (without a zone), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  const plain = address.split("%")[0] ?? "";
  if (!isIPv6(plain)) return undefined;
  let text = plain;
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
}

/**
 * The key a client is limited under: its IPv4 address (also when it arrives IPv4-mapped), or
 * its IPv6 /56, since one subscriber usually holds a whole /56 or /64 and could otherwise
 * rotate through addresses (express-rate-limit's ipKeyGenerator does the same).
 */
export function clientKey(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "unknown";
  const groups = ipv6Groups(ip);
  if (!groups) return ip;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  const [a = 0, b = 0, c = 0, d = 0] = groups;
  return `${[a, b, c, d & 0xff00].map((g) => g.toString(16)).join(":")}::/56`;
}

/**
 * Per-client-IP token bucket (per replica) in front of everything that costs work before a
 * user is known: bearer verification (a JWT check, or an introspection call to task-api and its
 * database query for every `tmpat_` token) and the metadata documents. The IP is the one
 * Express trusts (`trust proxy` = TRUST_PROXY_HOPS), never a client-chosen header. Over the
 * limit: 429 problem+json with Retry-After. perMinute 0 turns it off.
 */
export function perIpLimit(options: {
  perMinute: number;
  /** Requests one IP may send at once before the steady rate applies; default perMinute / 4. */
  burst?: number;
  now?: () => number;
  /** Addresses tracked at most; beyond it full buckets go first, then the longest unseen. */
  maxClients?: number;
}): RequestHandler {
  if (options.perMinute <= 0)
    return (_req, _res, next) => {
      next();
    };
  const now = options.now ?? Date.now;
  const ratePerMs = options.perMinute / 60_000;
  const capacity = Math.max(1, options.burst ?? Math.ceil(options.perMinute / 4));
  const maxClients = options.maxClients ?? 100_000;
  const buckets = new Map<string, Bucket>();

  const sweep = (at: number): void => {
    for (const [key, b] of buckets) if (b.tokens + (at - b.at) * ratePerMs >= capacity) buckets.delete(key);
    // Still too many (a flood from many addresses): forget the longest unseen ones (Map order
    // is insertion order, and every request re-inserts its key).
    for (const key of buckets.keys()) {
      if (buckets.size <= maxClients) break;
      buckets.delete(key);
    }
  };

  return (req, res, next) => {
    const key = clientKey(req.ip);
    const at = now();
    const bucket = buckets.get(key) ?? { tokens: capacity, at };
    bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * ratePerMs);
    bucket.at = at;
    buckets.delete(key);
    buckets.set(key, bucket);
    if (buckets.size > maxClients) sweep(at);
    if (bucket.tokens < 1) {
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
      res.setHeader("Retry-After", String(waitSeconds));
      sendProblem(
        res,
        "rate-limited",
        `Too many requests from your address (${options.perMinute} per minute); retry after ${waitSeconds} s.`,
      );
      return;
    }
    bucket.tokens -= 1;
    next();
  };
}
