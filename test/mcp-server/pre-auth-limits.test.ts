/**
 * What an unauthenticated caller can make the mcp-server do: a per-IP limit in front of bearer
 * verification (and the metadata), and unknown personal access tokens remembered briefly, so a
 * flood of made-up tmpat_ tokens costs task-api one introspection per token at most and is cut
 * off by the limit. Against the real task-api's introspection route through the sidecar stand-in.
 */
import { randomBytes } from "node:crypto";
import {
  createBearerVerifier,
  introspectionFromSidecar,
  jwksFromSidecar,
  type BearerVerifier,
  type Introspect,
} from "@taskmesh/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PUBLIC_URL } from "../support/task-api.ts";
import { startMcpHarness, taskApiSidecar, type McpHarness } from "./harness.ts";

const PER_MINUTE = 40; // burst: a quarter, 10 requests
const BURST = 10;

let h: McpHarness;
/** Every token task-api was asked to introspect, in order. */
const introspected: string[] = [];
const clock = { now: 1_000_000 };

function verifier(options: { negativeCacheMaxEntries?: number } = {}): BearerVerifier {
  const sidecar = taskApiSidecar(h.apiUrl);
  const introspect = introspectionFromSidecar(sidecar);
  const counting: Introspect = (token) => {
    introspected.push(token);
    return introspect(token);
  };
  return createBearerVerifier({
    jwks: jwksFromSidecar(sidecar),
    issuer: TEST_PUBLIC_URL,
    audience: h.mcpUrl,
    introspect: counting,
    negativeCacheMs: 30_000,
    ...options,
    now: () => clock.now,
  });
}

let verify: BearerVerifier | undefined;
beforeAll(async () => {
  h = await startMcpHarness({
    // One proxy in front (the ingress): it appends the address it saw to X-Forwarded-For.
    config: { RATE_LIMIT_IP_PER_MINUTE: PER_MINUTE, TRUST_PROXY_HOPS: 1 },
    verifyBearer: (token) => {
      if (!verify) throw new Error("verifier not ready");
      return verify(token);
    },
  });
  verify = verifier();
});
afterAll(async () => {
  await h.close();
});

const randomPat = () => `tmpat_${randomBytes(32).toString("base64url")}`;

/** A request as the ingress forwards it from `ip` (a client-chosen X-Forwarded-For is kept in front). */
const fromIp = (ip: string, token: string | undefined, path = "/mcp", spoofed?: string) =>
  fetch(`${h.baseUrl}${path}`, {
    method: path === "/mcp" ? "POST" : "GET",
    headers: {
      "x-forwarded-for": spoofed ? `${spoofed}, ${ip}` : ip,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(path === "/mcp" ? { body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) } : {}),
  });

describe("a flood of made-up personal access tokens", () => {
  it("when one IP sends random tmpat_ tokens, then each distinct token is introspected at most once within the TTL, the IP is cut off with 429, and another IP is unaffected", async () => {
    const flood = Array.from({ length: 5 }, randomPat);
    introspected.length = 0;
    // Every token twice, both at once: 10 requests, the whole burst.
    const statuses = await Promise.all(
      [...flood, ...flood].map(async (token) => (await fromIp("203.0.113.7", token)).status),
    );
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 401));
    expect(introspected.toSorted()).toEqual(flood.toSorted());

    // Past the burst: refused before the token is looked at, whatever the client claims to be.
    for (const spoofed of [undefined, "198.51.100.1"]) {
      const limited = await fromIp("203.0.113.7", randomPat(), "/mcp", spoofed);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await limited.json()).toMatchObject({
        type: "https://taskmesh.dev/problems/rate-limited",
        detail: expect.stringMatching(/40 per minute/) as unknown,
      });
    }
    expect((await fromIp("203.0.113.7", undefined, "/.well-known/oauth-protected-resource/mcp")).status).toBe(
      429,
    );
    expect(introspected).toHaveLength(flood.length);

    // Another client: its own budget; its bad token costs one introspection, a good one works.
    expect((await fromIp("198.51.100.20", flood[0])).status).toBe(401);
    expect(introspected).toHaveLength(flood.length); // still remembered as not active
    expect(
      (await fromIp("198.51.100.20", undefined, "/.well-known/oauth-protected-resource/mcp")).status,
    ).toBe(200);
    const user = await h.signUp();
    const { token } = await h.personalAccessToken(user, "read");
    expect((await fromIp("198.51.100.20", token)).status).toBe(200);
  });

  it("when the TTL has passed, then an unknown token is introspected again", async () => {
    const token = randomPat();
    introspected.length = 0;
    expect((await fromIp("192.0.2.50", token)).status).toBe(401);
    expect((await fromIp("192.0.2.50", token)).status).toBe(401);
    expect(introspected).toEqual([token]);
    clock.now += 30_001;
    expect((await fromIp("192.0.2.50", token)).status).toBe(401);
    expect(introspected).toEqual([token, token]);
  });

  it("when more unknown tokens arrive than the cache holds, then the oldest are forgotten and memory stays bounded", async () => {
    const small = verifier({ negativeCacheMaxEntries: 3 });
    const tokens = Array.from({ length: 4 }, randomPat);
    introspected.length = 0;
    for (const token of tokens) await expect(small(token)).rejects.toThrow(/not active/);
    // tokens[0] was pushed out by tokens[3]; the three newest are still remembered.
    for (const token of [tokens[1], tokens[2], tokens[3], tokens[0]])
      await expect(small(token ?? "")).rejects.toThrow(/not active/);
    expect(introspected).toEqual([...tokens, tokens[0]]);
  });

  it("when IPv6 clients come from one /56, then they share one budget", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < BURST + 1; i++) {
      const res = await fromIp(`2001:db8:aa:bb${i.toString(16).padStart(2, "0")}::${i + 1}`, undefined);
      statuses.push(res.status);
    }
    expect(statuses.slice(0, BURST)).toEqual(Array.from({ length: BURST }, () => 401));
    expect(statuses.at(-1)).toBe(429);
    expect((await fromIp("2001:db8:aa:100::1", undefined)).status).toBe(401);
  });
});
