/**
 * `npm run smoke -- https://tasks.example.com`: a post-deploy smoke test of a running taskmesh,
 * as a client sees it through the Ingress. Signs up a throwaway user (or uses yours), then
 * walks a task through the REST API, the live stream (notifications), the task's history
 * (audit-log, through the event pipeline) and the MCP server (with a personal access token
 * created through the API), and deletes everything it created, also after a failure. Every
 * step prints its result and time; the first failing step is named and the exit code is 1
 * (2 for a usage error). Responses are parsed with zod.
 *
 *   npm run smoke -- https://tasks.example.com
 *   npm run smoke -- --url https://tasks.example.com --mcp-url https://mcp.example.com/mcp
 *   TASKMESH_URL=http://localhost:3000 npm run smoke -- --stream-url http://localhost:3002/v1/stream
 *
 * Options (or environment):
 *   --url URL            task-api's public URL, its PUBLIC_URL (TASKMESH_URL)
 *   --mcp-url URL        the MCP endpoint, mcp-server's MCP_RESOURCE_URL (TASKMESH_MCP_URL; default <url>/mcp)
 *   --stream-url URL     the live stream (TASKMESH_STREAM_URL; default <url>/v1/stream)
 *   --token TOKEN        a session token of an existing user instead of signing one up
 *                        (TASKMESH_SMOKE_TOKEN); the account is then kept
 *   --email, --password  sign in an existing user instead (TASKMESH_SMOKE_EMAIL, TASKMESH_SMOKE_PASSWORD)
 *   --origin ORIGIN      Origin sent to /api/auth (default: the URL's origin; must be PUBLIC_URL or in CORS_ORIGINS)
 *   --timeout SECONDS    how long to wait for the history and the stream (default 60)
 *   --request-timeout SECONDS  per HTTP request (default 15)
 *   --skip LIST          comma-separated: stream, history, mcp (for a deployment without them)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { z } from "zod";

const USAGE = `usage: npm run smoke -- <url> | --url <url> [--mcp-url <url>] [--stream-url <url>]
       [--token <session token> | --email <email> --password <password>] [--origin <origin>]
       [--timeout <seconds>] [--request-timeout <seconds>] [--skip stream,history,mcp]
The URL may also come from TASKMESH_URL (and TASKMESH_MCP_URL, TASKMESH_STREAM_URL, TASKMESH_SMOKE_TOKEN).`;

const OPTIONAL_PARTS = ["stream", "history", "mcp"] as const;
type OptionalPart = (typeof OPTIONAL_PARTS)[number];

interface SmokeOptions {
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

class UsageError extends Error {}

/** A step failed: the message says what was expected and what came back. */
class StepError extends Error {}

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

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): SmokeOptions {
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

// ---- what the API answers (only the fields the smoke test relies on) --------------------

const instant = z.iso.datetime({ offset: true });
const taskSchema = z.looseObject({
  id: z.string().min(1),
  title: z.string(),
  completed: z.boolean(),
  priority: z.string(),
  tags: z.array(z.string()),
  version: z.number().int().min(1),
  createdAt: instant,
  updatedAt: instant,
});
type Task = z.infer<typeof taskSchema>;
const taskPageSchema = z.looseObject({ data: z.array(taskSchema), nextCursor: z.string().nullable() });
const authUserSchema = z.looseObject({
  user: z.looseObject({ id: z.string().min(1), email: z.string() }),
});
const sessionSchema = z.looseObject({ user: z.looseObject({ id: z.string().min(1), email: z.string() }) });
const accessTokenSchema = z.looseObject({ token: z.string().min(1) });
const personalAccessTokenSchema = z.looseObject({
  id: z.string().min(1),
  token: z.string().startsWith("tmpat_"),
  scope: z.literal("read"),
});
const historySchema = z.looseObject({
  items: z.array(
    z.looseObject({
      eventId: z.string(),
      type: z.string(),
      sequence: z.number().int(),
      occurredAt: instant,
      actor: z.looseObject({ kind: z.string(), id: z.string() }),
    }),
  ),
  nextCursor: z.string().nullable(),
});
const problemSchema = z.looseObject({ title: z.string().optional(), detail: z.string().optional() });
const healthSchema = z.looseObject({ status: z.string().optional() });
const authServerMetadataSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
});
const resourceMetadataSchema = z.looseObject({
  resource: z.string(),
  authorization_servers: z.array(z.string()).min(1),
});
const streamEventSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  data: z.looseObject({ taskId: z.string().optional() }),
});
const getTaskResultSchema = z.looseObject({
  isError: z.boolean().optional(),
  structuredContent: z.looseObject({ task: z.looseObject({ id: z.string(), title: z.string() }) }),
});

// ---- HTTP ---------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Why a request got no answer, in words (fetch hides the cause). */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return "no answer in time (request timeout)";
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}

function snippet(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

/** What a non-expected answer says: status and the problem+json title/detail, or the start of the body. */
function describeAnswer(answer: HttpAnswer): string {
  let said = snippet(answer.text);
  try {
    const problem = problemSchema.safeParse(JSON.parse(answer.text));
    if (problem.success && (problem.data.title ?? problem.data.detail))
      said = [problem.data.title, problem.data.detail].filter(Boolean).join(": ");
  } catch {
    // not JSON: the text itself
  }
  return `HTTP ${answer.status}${said ? ` (${said})` : ""}`;
}

function parseJson<T>(schema: z.ZodType<T>, answer: HttpAnswer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw new StepError(`${what}: expected JSON, got ${describeAnswer(answer)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new StepError(`${what}: unexpected response body (${issues})`);
  }
  return parsed.data;
}

// ---- the run ------------------------------------------------------------------------------

interface Output {
  line(text: string): void;
}

interface StepRecord {
  name: string;
  ok: boolean | "skipped";
  ms: number;
  detail: string;
}

/**
 * Runs the smoke test against a deployment and prints each step to `out`. Resolves with the
 * steps and the name of the first one that failed (undefined when all passed).
 */
async function runSmoke(
  options: SmokeOptions,
  out: Output,
): Promise<{ steps: StepRecord[]; failedStep: string | undefined }> {
  const steps: StepRecord[] = [];
  let failedStep: string | undefined;
  const started = performance.now();
  const width = 22;

  const request = async (
    method: string,
    url: URL | string,
    init: { headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<HttpAnswer> => {
    const target = typeof url === "string" ? new URL(url, options.url) : url;
    let response: Response;
    try {
      response = await fetch(target, {
        method,
        headers: {
          accept: "application/json",
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        redirect: "manual",
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
    } catch (error) {
      throw new StepError(`${method} ${target.href}: ${describeNetworkError(error)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new StepError(`${method} ${target.href}: body not read (${describeNetworkError(error)})`);
    }
    return { status: response.status, headers: response.headers, text };
  };

  const expectStatus = (answer: HttpAnswer, expected: number, what: string): void => {
    if (answer.status !== expected)
      throw new StepError(`${what}: expected HTTP ${expected}, got ${describeAnswer(answer)}`);
  };

  /** Runs one step; a failure is recorded (the first one is the run's failed step) and rethrown. */
  const step = async <T>(name: string, run: () => Promise<{ value: T; detail: string }>): Promise<T> => {
    const t0 = performance.now();
    try {
      const { value, detail } = await run();
      const ms = Math.round(performance.now() - t0);
      steps.push({ name, ok: true, ms, detail });
      out.line(`  ok    ${name.padEnd(width)} ${String(ms).padStart(6)} ms  ${detail}`);
      return value;
    } catch (error) {
      const ms = Math.round(performance.now() - t0);
      const detail = error instanceof Error ? error.message : String(error);
      steps.push({ name, ok: false, ms, detail });
      out.line(`  FAIL  ${name.padEnd(width)} ${String(ms).padStart(6)} ms  ${detail}`);
      failedStep ??= name;
      throw error;
    }
  };
  const skipped = (name: string, why: string): void => {
    steps.push({ name, ok: "skipped", ms: 0, detail: why });
    out.line(`  skip  ${name.padEnd(width)} ${"".padStart(9)}  ${why}`);
  };

  out.line(`taskmesh smoke test of ${options.url.href}`);
  out.line(`  mcp ${options.mcpUrl.href}   stream ${options.streamUrl.href}`);

  let session: { token: string; userId: string; created: boolean } | undefined;
  let task: Task | undefined;
  let patId: string | undefined;
  let stream: LiveStreamReader | undefined;
  let mcp: Client | undefined;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  try {
    await step("health", async () => {
      const said: string[] = [];
      for (const path of ["/healthz", "/readyz"]) {
        const answer = await request("GET", path);
        if (answer.status === 404) said.push(`${path} not exposed`);
        else {
          expectStatus(answer, 200, `GET ${path}`);
          said.push(`${path} ${parseJson(healthSchema, answer, path).status ?? answer.status}`);
        }
      }
      return { value: undefined, detail: said.join(", ") };
    });

    // What MCP clients that sign in with OAuth need from task-api: its RFC 8414 metadata, with
    // PUBLIC_URL as the issuer, and the login page its authorize endpoint sends browsers to.
    await step("oauth", async () => {
      const answer = await request("GET", "/.well-known/oauth-authorization-server");
      expectStatus(answer, 200, "GET /.well-known/oauth-authorization-server");
      const metadata = parseJson(authServerMetadataSchema, answer, "authorization-server metadata");
      if (sameUrl(metadata.issuer) !== sameUrl(options.url.href))
        throw new StepError(
          `task-api's issuer is ${metadata.issuer}, not ${options.url.href}: set its PUBLIC_URL to the URL clients use`,
        );
      const login = await request("GET", "/oauth/login");
      expectStatus(login, 200, "GET /oauth/login (the sign-in page of the OAuth flow)");
      if (!(login.headers.get("content-type") ?? "").startsWith("text/html"))
        throw new StepError(
          `GET /oauth/login: not an HTML page (${login.headers.get("content-type") ?? "no type"})`,
        );
      return { value: undefined, detail: `issuer ${metadata.issuer}, login page served` };
    });

    if (!options.skip.has("mcp")) {
      await step("mcp metadata", async () => {
        const path = options.mcpUrl.pathname.replace(/\/$/, "");
        const where = new URL(`/.well-known/oauth-protected-resource${path}`, options.mcpUrl);
        const answer = await request("GET", where);
        if (answer.status === 403 && /host/i.test(answer.text))
          throw new StepError(
            `the MCP server refuses the host ${options.mcpUrl.host} (${describeAnswer(answer)}): its MCP_RESOURCE_URL (or ALLOWED_HOSTS) must name the host clients use`,
          );
        expectStatus(answer, 200, `GET ${where.pathname}`);
        const metadata = parseJson(resourceMetadataSchema, answer, "protected-resource metadata");
        if (sameUrl(metadata.resource) !== sameUrl(options.mcpUrl.href))
          throw new StepError(
            `the MCP server calls itself ${metadata.resource}, not ${options.mcpUrl.href}: set its MCP_RESOURCE_URL (and task-api's PROTECTED_RESOURCES) to the URL clients use`,
          );
        if (!metadata.authorization_servers.some((s) => sameUrl(s) === sameUrl(options.url.href)))
          throw new StepError(
            `the MCP server names ${metadata.authorization_servers.join(", ")} as authorization server, not ${options.url.href}: set its AUTH_ISSUER to task-api's PUBLIC_URL`,
          );
        return { value: undefined, detail: `resource ${metadata.resource}` };
      });
    }

    session = await step("sign in", async () => {
      const auth = { origin: options.origin };
      const { credentials } = options;
      if (credentials.kind === "token") {
        const answer = await request("GET", "/api/auth/get-session", {
          headers: bearer(credentials.sessionToken),
        });
        expectStatus(answer, 200, "GET /api/auth/get-session");
        if (answer.text.trim() === "null")
          throw new StepError("the given session token is not a valid session");
        const me = parseJson(sessionSchema, answer, "session");
        return {
          value: { token: credentials.sessionToken, userId: me.user.id, created: false },
          detail: `session of ${me.user.email}`,
        };
      }
      const signUp = credentials.kind === "sign-up";
      const email = signUp ? `smoke-${randomUUID()}@example.com` : credentials.email;
      const answer = await request("POST", signUp ? "/api/auth/sign-up/email" : "/api/auth/sign-in/email", {
        headers: auth,
        body: signUp
          ? {
              email,
              password: randomBytes(18).toString("base64url"),
              name: "taskmesh smoke test",
              timeZone: "UTC",
            }
          : { email, password: credentials.password },
      });
      expectStatus(answer, 200, signUp ? "sign-up" : "sign-in");
      const user = parseJson(authUserSchema, answer, signUp ? "sign-up" : "sign-in").user;
      const token = answer.headers.get("set-auth-token");
      if (!token)
        throw new StepError("no set-auth-token header in the answer (is the bearer plugin reachable?)");
      return {
        value: { token, userId: user.id, created: signUp },
        detail: `${signUp ? "signed up" : "signed in"} ${user.email} (${user.id})`,
      };
    });
    const sessionToken = session.token;

    const accessToken = await step("access token", async () => {
      const answer = await request("GET", "/api/auth/token", { headers: bearer(sessionToken) });
      expectStatus(answer, 200, "GET /api/auth/token");
      const { token } = parseJson(accessTokenSchema, answer, "access token");
      return { value: token, detail: "JWT for the REST API and the stream" };
    });
    const auth = bearer(accessToken);

    if (options.skip.has("stream")) skipped("open stream", "--skip stream");
    else
      stream = await step("open stream", async () => {
        const reader = await LiveStreamReader.open(options.streamUrl, auth, options.requestTimeoutMs);
        return { value: reader, detail: `${options.streamUrl.pathname} connected` };
      });

    const created = await step("create task", async () => {
      const answer = await request("POST", "/v1/tasks", {
        headers: { ...auth, "idempotency-key": randomUUID() },
        body: { title: `smoke test ${new Date().toISOString()}`, priority: "low", tags: ["smoke-test"] },
      });
      expectStatus(answer, 201, "POST /v1/tasks");
      const value = parseJson(taskSchema, answer, "created task");
      const location = answer.headers.get("location");
      if (!location?.endsWith(`/v1/tasks/${value.id}`))
        throw new StepError(`Location header '${location ?? ""}' does not name the task ${value.id}`);
      return { value, detail: `task ${value.id}` };
    });
    task = created;

    const read = await step("read task", async () => {
      const answer = await request("GET", `/v1/tasks/${created.id}`, { headers: auth });
      expectStatus(answer, 200, `GET /v1/tasks/${created.id}`);
      const value = parseJson(taskSchema, answer, "task");
      if (value.id !== created.id || value.title !== created.title)
        throw new StepError(
          `read back ${value.id} '${value.title}', created ${created.id} '${created.title}'`,
        );
      const etag = answer.headers.get("etag");
      if (!etag) throw new StepError("no ETag header");
      return { value: { task: value, etag }, detail: `version ${value.version}, ETag ${etag}` };
    });

    await step("list tasks", async () => {
      const answer = await request("GET", "/v1/tasks?tag=smoke-test&status=open&limit=100", {
        headers: auth,
      });
      expectStatus(answer, 200, "GET /v1/tasks");
      const page = parseJson(taskPageSchema, answer, "task page");
      if (!page.data.some((t) => t.id === created.id))
        throw new StepError(`the task ${created.id} is not in the list of open smoke-test tasks`);
      return { value: undefined, detail: `${page.data.length} open task(s) tagged smoke-test` };
    });

    const updated = await step("update task", async () => {
      const answer = await request("PATCH", `/v1/tasks/${created.id}`, {
        headers: { ...auth, "if-match": read.etag },
        body: { title: `${created.title} (updated)`, priority: "high" },
      });
      expectStatus(answer, 200, `PATCH /v1/tasks/${created.id}`);
      const value = parseJson(taskSchema, answer, "updated task");
      if (value.priority !== "high" || value.version <= read.task.version)
        throw new StepError(
          `the update did not apply (priority ${value.priority}, version ${value.version})`,
        );
      return { value, detail: `version ${value.version}` };
    });

    await step("complete task", async () => {
      const answer = await request("POST", `/v1/tasks/${created.id}/complete`, {
        headers: { ...auth, "if-match": `"${updated.version}"` },
      });
      expectStatus(answer, 200, `POST /v1/tasks/${created.id}/complete`);
      const value = parseJson(taskSchema, answer, "completed task");
      if (!value.completed) throw new StepError("the task is not completed after /complete");
      return { value, detail: `version ${value.version}` };
    });

    const expectedTypes = [EVENT_TYPES.taskCreated, EVENT_TYPES.taskUpdated, EVENT_TYPES.taskCompleted];
    const short = (type: string) => type.replace(/^dev\.taskmesh\./, "").replace(/\.v\d+$/, "");

    if (stream) {
      const reader = stream;
      await step("live stream", async () => {
        const seen = await reader.waitFor((events) => {
          const types = new Set(events.filter((e) => e.data.taskId === created.id).map((e) => e.type));
          return expectedTypes.every((t) => types.has(t));
        }, options.timeoutMs);
        if (!seen) {
          const got = reader.events.filter((e) => e.data.taskId === created.id).map((e) => short(e.type));
          throw new StepError(
            `after ${options.timeoutMs / 1000} s the stream delivered [${got.join(", ")}] for the task, expected ${expectedTypes.map(short).join(", ")}${reader.error ? ` (stream: ${reader.error})` : ""}`,
          );
        }
        return { value: undefined, detail: `${expectedTypes.map(short).join(", ")} delivered` };
      });
    }

    if (options.skip.has("history")) skipped("history", "--skip history");
    else
      await step("history", async () => {
        const deadline = Date.now() + options.timeoutMs;
        let last = "";
        for (;;) {
          const answer = await request("GET", `/v1/tasks/${created.id}/history?limit=100`, { headers: auth });
          if (answer.status === 200) {
            const { items } = parseJson(historySchema, answer, "history");
            const types = items.map((i) => i.type);
            if (expectedTypes.every((t) => types.includes(t)))
              return { value: undefined, detail: `${types.map(short).join(", ")} recorded` };
            last = `history has [${types.map(short).join(", ")}]`;
          } else if (answer.status === 503) {
            // audit-log unreachable (yet): task-api says so with Retry-After; keep polling.
            last = describeAnswer(answer);
          } else {
            expectStatus(answer, 200, `GET /v1/tasks/${created.id}/history`);
          }
          if (Date.now() >= deadline)
            throw new StepError(
              `after ${options.timeoutMs / 1000} s: ${last}; expected ${expectedTypes.map(short).join(", ")}`,
            );
          await sleep(500);
        }
      });

    if (options.skip.has("mcp")) skipped("mcp", "--skip mcp");
    else {
      const pat = await step("personal access token", async () => {
        const answer = await request("POST", "/v1/tokens", {
          headers: bearer(sessionToken),
          body: { name: "taskmesh smoke test", scope: "read", expiresInDays: 1 },
        });
        expectStatus(answer, 201, "POST /v1/tokens");
        const value = parseJson(personalAccessTokenSchema, answer, "personal access token");
        return { value, detail: `read-only token ${value.id}` };
      });
      patId = pat.id;

      mcp = await step("mcp initialize", async () => {
        const client = new Client({ name: "taskmesh-smoke", version: "1.0.0" });
        const transport = new StreamableHTTPClientTransport(options.mcpUrl, {
          requestInit: { headers: bearer(pat.token) },
        });
        try {
          await client.connect(transport, { timeout: options.requestTimeoutMs });
        } catch (error) {
          throw new StepError(`initialize at ${options.mcpUrl.href}: ${describeNetworkError(error)}`);
        }
        const server = client.getServerVersion();
        return {
          value: client,
          detail: `${server?.name ?? "?"} ${server?.version ?? ""}, protocol ${transport.protocolVersion ?? "?"}`,
        };
      });
      const client = mcp;

      await step("mcp tools/list", async () => {
        const { tools } = await client.listTools(undefined, { timeout: options.requestTimeoutMs });
        if (!tools.some((t) => t.name === "get_task"))
          throw new StepError(`no get_task among ${tools.map((t) => t.name).join(", ")}`);
        return { value: undefined, detail: `${tools.length} tools` };
      });

      await step("mcp get_task", async () => {
        const raw = await client.callTool({ name: "get_task", arguments: { id: created.id } }, undefined, {
          timeout: options.requestTimeoutMs,
        });
        const result = getTaskResultSchema.safeParse(raw);
        if (!result.success || result.data.isError)
          throw new StepError(`get_task did not return the task: ${snippet(JSON.stringify(raw))}`);
        const got = result.data.structuredContent.task;
        if (got.id !== created.id)
          throw new StepError(`get_task returned ${got.id}, asked for ${created.id}`);
        return { value: undefined, detail: `'${got.title}'` };
      });
    }
  } catch (error) {
    // The failed step has printed itself; anything else is a bug of this script: say so.
    if (!(error instanceof StepError) && failedStep === undefined) {
      failedStep = "smoke script";
      out.line(`  FAIL  ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  // Clean up what this run created, also after a failure; a failing clean-up fails the run.
  stream?.close();
  await mcp?.close().catch(() => undefined);
  const cleanup = async (name: string, run: () => Promise<{ value: undefined; detail: string }>) => {
    await step(name, run).catch(() => undefined);
  };
  if (session) {
    const sessionToken = session.token;
    const createdTask = task;
    const createdPat = patId;
    if (createdPat)
      await cleanup("revoke token", async () => {
        const answer = await request("DELETE", `/v1/tokens/${createdPat}`, { headers: bearer(sessionToken) });
        expectStatus(answer, 204, "DELETE /v1/tokens/:id");
        return { value: undefined, detail: `token ${createdPat} revoked` };
      });
    if (createdTask)
      await cleanup("delete task", async () => {
        const answer = await request("DELETE", `/v1/tasks/${createdTask.id}`, {
          headers: bearer(sessionToken),
        });
        expectStatus(answer, 204, "DELETE /v1/tasks/:id");
        const gone = await request("GET", `/v1/tasks/${createdTask.id}`, { headers: bearer(sessionToken) });
        expectStatus(gone, 404, "GET of the deleted task");
        return { value: undefined, detail: `task ${createdTask.id} deleted` };
      });
    if (session.created)
      await cleanup("delete account", async () => {
        const answer = await request("DELETE", "/v1/me", { headers: bearer(sessionToken) });
        expectStatus(answer, 204, "DELETE /v1/me");
        return { value: undefined, detail: "the throwaway user and its data are gone" };
      });
  }

  const total = ((performance.now() - started) / 1000).toFixed(1);
  if (failedStep === undefined)
    out.line(`smoke test passed: ${steps.filter((s) => s.ok === true).length} steps in ${total} s`);
  else out.line(`smoke test FAILED at step "${failedStep}" (${total} s)`);
  return { steps, failedStep };
}

/** A URL compared without a trailing slash. */
function sameUrl(url: string): string {
  try {
    return new URL(url).href.replace(/\/$/, "");
  } catch {
    return url;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type StreamEvent = z.infer<typeof streamEventSchema>;

/** The live stream (server-sent events), read in the background into `events`. */
class LiveStreamReader {
  readonly events: StreamEvent[] = [];
  error: string | undefined;
  private ended = false;

  private constructor(private readonly abort: AbortController) {}

  /** Opens the stream and resolves once the server's first comment (": connected") has arrived through every proxy. */
  static async open(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<LiveStreamReader> {
    const abort = new AbortController();
    const timer = setTimeout(() => {
      abort.abort(new Error("no answer in time"));
    }, timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { ...headers, accept: "text/event-stream" },
        signal: abort.signal,
      });
    } catch (error) {
      clearTimeout(timer);
      throw new StepError(`GET ${url.href}: ${describeNetworkError(error)}`);
    }
    if (response.status !== 200 || !response.body) {
      clearTimeout(timer);
      const text = await response.text().catch(() => "");
      abort.abort();
      throw new StepError(
        `GET ${url.href}: expected HTTP 200, got ${describeAnswer({ status: response.status, headers: response.headers, text })}`,
      );
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream")) {
      clearTimeout(timer);
      abort.abort();
      throw new StepError(`GET ${url.href}: content-type is '${type}', not text/event-stream`);
    }
    const reader = new LiveStreamReader(abort);
    const connected = Promise.withResolvers<undefined>();
    void reader.read(response.body, () => {
      connected.resolve(undefined);
    });
    const ended = (async () => {
      while (!reader.ended) await sleep(50);
      throw new StepError(
        `the stream ended before it said it was connected${reader.error ? `: ${reader.error}` : ""}`,
      );
    })();
    try {
      await Promise.race([connected.promise, ended]);
    } catch (error) {
      abort.abort();
      throw abort.signal.reason instanceof Error && abort.signal.reason.message === "no answer in time"
        ? new StepError(
            `no ': connected' line from ${url.href} within ${timeoutMs / 1000} s: a proxy is buffering the stream (the Ingress needs proxy-buffering off)`,
          )
        : error;
    } finally {
      clearTimeout(timer);
    }
    return reader;
  }

  private async read(body: ReadableStream<Uint8Array>, onComment: () => void): Promise<void> {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) onComment();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          const parsed = streamEventSchema.safeParse(JSON.parse(data.join("\n")));
          if (parsed.success) this.events.push(parsed.data);
          else this.error = `an event that is not a task CloudEvent: ${snippet(data.join(""))}`;
        }
      }
    } catch (error) {
      if (!this.abort.signal.aborted) this.error = describeNetworkError(error);
    }
    this.ended = true;
  }

  /** Waits until `check(events)` holds or the stream ends or `timeoutMs` passes; true if it held. */
  async waitFor(check: (events: StreamEvent[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (check(this.events)) return true;
      if (this.ended || Date.now() >= deadline) return false;
      await sleep(100);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

async function main(): Promise<void> {
  let options: SmokeOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError && message === "") {
      console.log(USAGE);
      return;
    }
    console.error(`${message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { failedStep } = await runSmoke(options, {
    line: (text) => {
      console.log(text);
    },
  });
  process.exitCode = failedStep === undefined ? 0 : 1;
}

// Run as a script (npm run smoke), not when a test imports defaultUrls.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
