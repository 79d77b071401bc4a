import { env, loadConfig, serviceConfigFields } from "@taskmesh/core";
import { z } from "zod";

// No DATABASE_URL: the mcp-server has no tables. Every read and write is task-api's, reached
// by service invocation through this app's own sidecar.
const schema = z.object({
  // The sidecar: service invocation of task-api. No sidecar-only routes here yet; the app
  // token is kept per convention.
  ...serviceConfigFields(3001, { sidecar: true, appToken: true }),
  TASK_API_APP_ID: z.string().min(1).default("task-api"),
  /**
   * The MCP endpoint's canonical URL as clients reach it: the OAuth resource identifier
   * (RFC 8707) that access tokens must carry as their audience. task-api's PROTECTED_RESOURCES
   * must list the same value.
   */
  MCP_RESOURCE_URL: z.url().default("http://localhost:3001/mcp"),
  /** task-api's public URL: the issuer of access tokens and the authorization server. */
  AUTH_ISSUER: z.url(),
  /**
   * Host header values accepted (DNS-rebinding protection); MCP_RESOURCE_URL's host is always
   * allowed. Loopback names are one: if that host, an entry or HOST is on loopback, localhost,
   * 127.0.0.1 and [::1] all pass on any port.
   */
  ALLOWED_HOSTS: env.list(),
  /** Origin header values accepted (browser clients); requests without Origin are accepted. */
  ALLOWED_ORIGINS: env.list(),
  /** Tool calls per user per minute (token bucket, per replica). */
  TOOL_CALLS_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  /** Burst on top of the steady rate. */
  TOOL_CALL_BURST: z.coerce.number().int().min(1).default(60),
  /**
   * Requests per minute per client IP to /mcp and the metadata documents, checked before the
   * bearer token (burst a quarter of it); 0 = off. Many users behind one NAT share it.
   */
  RATE_LIMIT_IP_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /** Express "trust proxy" hop count, so the per-IP limit sees the client behind an ingress. */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).default(0),
  /** Largest JSON-RPC request body. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** How long a personal access token's introspection result is reused (revocation delay). */
  TOKEN_CACHE_SECONDS: z.coerce.number().int().min(0).default(30),
  /** How long an unknown, revoked or expired personal access token is remembered as such (one introspection per token per period). */
  TOKEN_NEGATIVE_CACHE_SECONDS: z.coerce.number().int().min(0).default(30),
});

export type McpServerConfig = z.infer<typeof schema>;

export function loadMcpServerConfig(
  source: Record<string, string | undefined> = process.env,
): McpServerConfig {
  return loadConfig(schema, source);
}
