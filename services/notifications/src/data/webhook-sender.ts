import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { isIP } from "node:net";
import type { CheckedTarget } from "../domain/webhook-target.guard.ts";

export interface WebhookRequest {
  /** Where to connect: the address the SSRF guard checked, never a fresh resolution. */
  target: CheckedTarget;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
}

export interface WebhookResponse {
  statusCode: number;
  statusMessage: string;
  /** Retry-After in seconds, when the receiver sent one (delta-seconds or an HTTP date). */
  retryAfterSeconds: number | undefined;
}

/** POSTs one webhook attempt; rejects on network errors, timeouts and aborts. */
export type WebhookSender = (request: WebhookRequest) => Promise<WebhookResponse>;

export class WebhookTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no response within ${timeoutMs} ms`);
    this.name = "WebhookTimeoutError";
  }
}

function retryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * node:http(s) with the connection pinned to the checked address: the `lookup` hook answers
 * with it, so a host whose DNS changes between the check and the connection (DNS rebinding)
 * still reaches the address that was checked. Host header and TLS SNI/certificate checks
 * use the host name. Redirects are never followed (a 3xx is just a failed attempt), and no
 * connection is reused across attempts.
 */
export const sendWebhook: WebhookSender = (request) =>
  new Promise<WebhookResponse>((resolve, reject) => {
    const { url, hostname, address } = request.target;
    const pinned: LookupFunction = (_host, options, callback) => {
      if (options.all) callback(null, [{ address: address.address, family: address.family }]);
      else callback(null, address.address, address.family);
    };
    const body = Buffer.from(request.body, "utf8");
    const options: https.RequestOptions = {
      method: "POST",
      host: hostname,
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: { ...request.headers, "content-length": String(body.length) },
      lookup: pinned,
      agent: false,
      ...(url.protocol === "https:" && isIP(hostname) === 0 ? { servername: hostname } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    };
    const req = (url.protocol === "https:" ? https : http).request(options, (res) => {
      clearTimeout(timer);
      // Only the status matters; the body is neither read nor kept.
      res.destroy();
      resolve({
        statusCode: res.statusCode ?? 0,
        statusMessage: res.statusMessage ?? "",
        retryAfterSeconds: retryAfter(res.headers["retry-after"], Date.now()),
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new WebhookTimeoutError(request.timeoutMs));
    }, request.timeoutMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
