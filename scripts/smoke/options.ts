/** The smoke test's command line and environment (see scripts/smoke.ts). */
import { parseArgs } from "node:util";

export const USAGE = `usage: npm run smoke -- <url> | --url <url> [--mcp-url <url>] [--stream-url <url>]
       [--token <session token> | --email <email> --password <password>] [--origin <origin>]
       [--timeout <seconds>] [--request-timeout <seconds>] [--skip stream,history,mcp]
The URL may also come from TASKMESH_URL (and TASKMESH_MCP_URL, TASKMESH_STREAM_URL, TASKMESH_SMOKE_TOKEN).`;

export const OPTIONAL_PARTS = ["stream", "history", "mcp"] as const;
export type OptionalPart = (typeof OPTIONAL_PARTS)[number];

export interface SmokeOptions {
  url: URL;
  mcpUrl: URL;
  streamUrl: URL;
  origin: string;
  credentials:
    | { kind: "sign-up" }
    | { kind: "token"; sessionToken: string }
    | { kind: "sign-in"; email: string; password: string };
  timeoutMs: number;
  requestTimeoutMs: number;
  skip: ReadonlySet<OptionalPart>;
}

export class UsageError extends Error {}

/**
 * Where the MCP endpoint and the stream are by default: the paths the Ingress (k8s/base/ingress.yaml)
 * routes on the API's host (test/k8s/deploy-docs.test.ts checks that they still do).
 */
export function defaultUrls(url: URL): { mcpUrl: URL; streamUrl: URL } {
  return { mcpUrl: new URL("/mcp", url), streamUrl: new URL("/v1/stream", url) };
}

function parseUrl(name: string, value: string): URL {
  try {
    const url = new URL(value);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    return url;
  } catch {
    throw new UsageError(`${name} must be an http(s) URL, got '${value}'`);
  }
}

function seconds(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number of seconds`);
  return Math.round(n * 1000);
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): SmokeOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: "string" },
      "mcp-url": { type: "string" },
      "stream-url": { type: "string" },
      token: { type: "string" },
      email: { type: "string" },
      password: { type: "string" },
      origin: { type: "string" },
      timeout: { type: "string", default: "60" },
      "request-timeout": { type: "string", default: "15" },
      skip: { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) throw new UsageError("");
  if (positionals.length > 1) throw new UsageError(`one URL expected, got ${positionals.length}`);
  const rawUrl = values.url ?? positionals[0] ?? env.TASKMESH_URL;
  if (!rawUrl) throw new UsageError("no URL: pass it as an argument, with --url or in TASKMESH_URL");
  const url = parseUrl("--url", rawUrl);
  const defaults = defaultUrls(url);
  const rawMcp = values["mcp-url"] ?? env.TASKMESH_MCP_URL;
  const rawStream = values["stream-url"] ?? env.TASKMESH_STREAM_URL;
  const token = values.token ?? env.TASKMESH_SMOKE_TOKEN;
  const email = values.email ?? env.TASKMESH_SMOKE_EMAIL;
  const password = values.password ?? env.TASKMESH_SMOKE_PASSWORD;
  if ((email === undefined) !== (password === undefined))
    throw new UsageError("--email and --password go together");
  if (token !== undefined && email !== undefined) throw new UsageError("give --token or --email, not both");
  const skip = new Set<OptionalPart>();
  for (const part of values.skip
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(OPTIONAL_PARTS as readonly string[]).includes(part))
      throw new UsageError(`--skip takes ${OPTIONAL_PARTS.join(", ")}; got '${part}'`);
    skip.add(part as OptionalPart);
  }
  return {
    url,
    mcpUrl: rawMcp ? parseUrl("--mcp-url", rawMcp) : defaults.mcpUrl,
    streamUrl: rawStream ? parseUrl("--stream-url", rawStream) : defaults.streamUrl,
    origin: values.origin ?? url.origin,
    credentials:
      token !== undefined
        ? { kind: "token", sessionToken: token }
        : email !== undefined && password !== undefined
          ? { kind: "sign-in", email, password }
          : { kind: "sign-up" },
    timeoutMs: seconds("--timeout", values.timeout),
    requestTimeoutMs: seconds("--request-timeout", values["request-timeout"]),
    skip,
  };
}
