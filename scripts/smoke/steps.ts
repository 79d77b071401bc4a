/**
 * The smoke test's steps, one function each, in the order scripts/smoke/run.ts runs them. Each
 * resolves with its value and the detail line printed after "ok", or throws a StepError that
 * says what was expected and what came back.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { EVENT_TYPES, historyPageSchema, taskPageSchema, taskSchema, type Task } from "@taskmesh/contracts";
import {
  bearer,
  describeAnswer,
  describeNetworkError,
  expectStatus,
  parseJson,
  sameUrl,
  sleep,
  snippet,
  StepError,
  type Request,
} from "./http.ts";
import type { SmokeOptions } from "./options.ts";
import {
  accessTokenSchema,
  authServerMetadataSchema,
  authUserSchema,
  getTaskResultSchema,
  healthSchema,
  personalAccessTokenSchema,
  resourceMetadataSchema,
} from "./schemas.ts";
import { LiveStreamReader } from "./stream.ts";

export interface SmokeContext {
  options: SmokeOptions;
  request: Request;
}

export type StepOutcome<T> = Promise<{ value: T; detail: string }>;

export interface Session {
  token: string;
  userId: string;
  /** Signed up by this run (then deleted at the end). */
  created: boolean;
}

/** The events a task's create, update and complete must produce, in the stream and the history. */
const EXPECTED_TYPES = [EVENT_TYPES.taskCreated, EVENT_TYPES.taskUpdated, EVENT_TYPES.taskCompleted];
const short = (type: string): string => type.replace(/^dev\.taskmesh\./, "").replace(/\.v\d+$/, "");

export async function health({ request }: SmokeContext): StepOutcome<undefined> {
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
}

/**
 * What MCP clients that sign in with OAuth need from task-api: its RFC 8414 metadata, with
 * PUBLIC_URL as the issuer, and the login page its authorize endpoint sends browsers to.
 */
export async function oauth({ request, options }: SmokeContext): StepOutcome<undefined> {
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
}

export async function mcpMetadata({ request, options }: SmokeContext): StepOutcome<undefined> {
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
}

/** The given session, or a sign-in of the given user, or a throwaway user signed up. */
export async function signIn({ request, options }: SmokeContext): StepOutcome<Session> {
  const { credentials } = options;
  if (credentials.kind === "token") {
    const answer = await request("GET", "/api/auth/get-session", {
      headers: bearer(credentials.sessionToken),
    });
    expectStatus(answer, 200, "GET /api/auth/get-session");
    if (answer.text.trim() === "null") throw new StepError("the given session token is not a valid session");
    const me = parseJson(authUserSchema, answer, "session");
    return {
      value: { token: credentials.sessionToken, userId: me.user.id, created: false },
      detail: `session of ${me.user.email}`,
    };
  }
  const signUp = credentials.kind === "sign-up";
  const email = signUp ? `smoke-${randomUUID()}@example.com` : credentials.email;
  const answer = await request("POST", signUp ? "/api/auth/sign-up/email" : "/api/auth/sign-in/email", {
    headers: { origin: options.origin },
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
  if (!token) throw new StepError("no set-auth-token header in the answer (is the bearer plugin reachable?)");
  return {
    value: { token, userId: user.id, created: signUp },
    detail: `${signUp ? "signed up" : "signed in"} ${user.email} (${user.id})`,
  };
}

export async function accessToken({ request }: SmokeContext, sessionToken: string): StepOutcome<string> {
  const answer = await request("GET", "/api/auth/token", { headers: bearer(sessionToken) });
  expectStatus(answer, 200, "GET /api/auth/token");
  const { token } = parseJson(accessTokenSchema, answer, "access token");
  return { value: token, detail: "JWT for the REST API and the stream" };
}

export async function openStream(
  { options }: SmokeContext,
  auth: Record<string, string>,
): StepOutcome<LiveStreamReader> {
  const reader = await LiveStreamReader.open(options.streamUrl, auth, options.requestTimeoutMs);
  return { value: reader, detail: `${options.streamUrl.pathname} connected` };
}

export async function createTask({ request }: SmokeContext, auth: Record<string, string>): StepOutcome<Task> {
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
}

export async function readTask(
  { request }: SmokeContext,
  auth: Record<string, string>,
  created: Task,
): StepOutcome<{ task: Task; etag: string }> {
  const answer = await request("GET", `/v1/tasks/${created.id}`, { headers: auth });
  expectStatus(answer, 200, `GET /v1/tasks/${created.id}`);
  const value = parseJson(taskSchema, answer, "task");
  if (value.id !== created.id || value.title !== created.title)
    throw new StepError(`read back ${value.id} '${value.title}', created ${created.id} '${created.title}'`);
  const etag = answer.headers.get("etag");
  if (!etag) throw new StepError("no ETag header");
  return { value: { task: value, etag }, detail: `version ${value.version}, ETag ${etag}` };
}

export async function listTasks(
  { request }: SmokeContext,
  auth: Record<string, string>,
  created: Task,
): StepOutcome<undefined> {
  const answer = await request("GET", "/v1/tasks?tag=smoke-test&status=open&limit=100", { headers: auth });
  expectStatus(answer, 200, "GET /v1/tasks");
  const page = parseJson(taskPageSchema, answer, "task page");
  if (!page.data.some((t) => t.id === created.id))
    throw new StepError(`the task ${created.id} is not in the list of open smoke-test tasks`);
  return { value: undefined, detail: `${page.data.length} open task(s) tagged smoke-test` };
}

export async function updateTask(
  { request }: SmokeContext,
  auth: Record<string, string>,
  read: { task: Task; etag: string },
): StepOutcome<Task> {
  const { id, title } = read.task;
  const answer = await request("PATCH", `/v1/tasks/${id}`, {
    headers: { ...auth, "if-match": read.etag },
    body: { title: `${title} (updated)`, priority: "high" },
  });
  expectStatus(answer, 200, `PATCH /v1/tasks/${id}`);
  const value = parseJson(taskSchema, answer, "updated task");
  if (value.priority !== "high" || value.version <= read.task.version)
    throw new StepError(`the update did not apply (priority ${value.priority}, version ${value.version})`);
  return { value, detail: `version ${value.version}` };
}

export async function completeTask(
  { request }: SmokeContext,
  auth: Record<string, string>,
  updated: Task,
): StepOutcome<Task> {
  const answer = await request("POST", `/v1/tasks/${updated.id}/complete`, {
    headers: { ...auth, "if-match": `"${updated.version}"` },
  });
  expectStatus(answer, 200, `POST /v1/tasks/${updated.id}/complete`);
  const value = parseJson(taskSchema, answer, "completed task");
  if (!value.completed) throw new StepError("the task is not completed after /complete");
  return { value, detail: `version ${value.version}` };
}

/** The stream delivers the task's created, updated and completed events within the timeout. */
export async function liveStream(
  { options }: SmokeContext,
  reader: LiveStreamReader,
  taskId: string,
): StepOutcome<undefined> {
  const seen = await reader.waitFor((events) => {
    const types = new Set(events.filter((e) => e.data.taskId === taskId).map((e) => e.type));
    return EXPECTED_TYPES.every((t) => types.has(t));
  }, options.timeoutMs);
  if (!seen) {
    const got = reader.events.filter((e) => e.data.taskId === taskId).map((e) => short(e.type));
    throw new StepError(
      `after ${options.timeoutMs / 1000} s the stream delivered [${got.join(", ")}] for the task, expected ${EXPECTED_TYPES.map(short).join(", ")}${reader.error ? ` (stream: ${reader.error})` : ""}`,
    );
  }
  return { value: undefined, detail: `${EXPECTED_TYPES.map(short).join(", ")} delivered` };
}

/** The task's history (audit-log, through the event pipeline) has the three events within the timeout. */
export async function history(
  { request, options }: SmokeContext,
  auth: Record<string, string>,
  taskId: string,
): StepOutcome<undefined> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "";
  for (;;) {
    const answer = await request("GET", `/v1/tasks/${taskId}/history?limit=100`, { headers: auth });
    if (answer.status === 200) {
      const { data } = parseJson(historyPageSchema, answer, "history");
      const types = data.map((entry) => entry.type);
      if (EXPECTED_TYPES.every((t) => types.includes(t)))
        return { value: undefined, detail: `${types.map(short).join(", ")} recorded` };
      last = `history has [${types.map(short).join(", ")}]`;
    } else if (answer.status === 503) {
      // audit-log unreachable (yet): task-api says so with Retry-After; keep polling.
      last = describeAnswer(answer);
    } else {
      expectStatus(answer, 200, `GET /v1/tasks/${taskId}/history`);
    }
    if (Date.now() >= deadline)
      throw new StepError(
        `after ${options.timeoutMs / 1000} s: ${last}; expected ${EXPECTED_TYPES.map(short).join(", ")}`,
      );
    await sleep(500);
  }
}

/** A read-only personal access token for the MCP server (revoked at the end). */
export async function personalAccessToken(
  { request }: SmokeContext,
  sessionToken: string,
): StepOutcome<{ id: string; token: string }> {
  const answer = await request("POST", "/v1/tokens", {
    headers: bearer(sessionToken),
    body: { name: "taskmesh smoke test", scope: "read", expiresInDays: 1 },
  });
  expectStatus(answer, 201, "POST /v1/tokens");
  const value = parseJson(personalAccessTokenSchema, answer, "personal access token");
  return { value, detail: `read-only token ${value.id}` };
}

export async function mcpInitialize({ options }: SmokeContext, patToken: string): StepOutcome<Client> {
  const client = new Client({ name: "taskmesh-smoke", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(options.mcpUrl, {
    requestInit: { headers: bearer(patToken) },
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
}

export async function mcpListTools({ options }: SmokeContext, client: Client): StepOutcome<undefined> {
  const { tools } = await client.listTools(undefined, { timeout: options.requestTimeoutMs });
  if (!tools.some((t) => t.name === "get_task"))
    throw new StepError(`no get_task among ${tools.map((t) => t.name).join(", ")}`);
  return { value: undefined, detail: `${tools.length} tools` };
}

export async function mcpGetTask(
  { options }: SmokeContext,
  client: Client,
  taskId: string,
): StepOutcome<undefined> {
  const raw = await client.callTool({ name: "get_task", arguments: { id: taskId } }, undefined, {
    timeout: options.requestTimeoutMs,
  });
  const result = getTaskResultSchema.safeParse(raw);
  if (!result.success || result.data.isError)
    throw new StepError(`get_task did not return the task: ${snippet(JSON.stringify(raw))}`);
  const got = result.data.structuredContent.task;
  if (got.id !== taskId) throw new StepError(`get_task returned ${got.id}, asked for ${taskId}`);
  return { value: undefined, detail: `'${got.title}'` };
}

// ---- clean-up ------------------------------------------------------------------------------

export async function revokeToken({ request }: SmokeContext, sessionToken: string, patId: string) {
  const answer = await request("DELETE", `/v1/tokens/${patId}`, { headers: bearer(sessionToken) });
  expectStatus(answer, 204, "DELETE /v1/tokens/:id");
  return { value: undefined, detail: `token ${patId} revoked` };
}

export async function deleteTask({ request }: SmokeContext, sessionToken: string, taskId: string) {
  const answer = await request("DELETE", `/v1/tasks/${taskId}`, { headers: bearer(sessionToken) });
  expectStatus(answer, 204, "DELETE /v1/tasks/:id");
  const gone = await request("GET", `/v1/tasks/${taskId}`, { headers: bearer(sessionToken) });
  expectStatus(gone, 404, "GET of the deleted task");
  return { value: undefined, detail: `task ${taskId} deleted` };
}

export async function deleteAccount({ request }: SmokeContext, sessionToken: string) {
  const answer = await request("DELETE", "/v1/me", { headers: bearer(sessionToken) });
  expectStatus(answer, 204, "DELETE /v1/me");
  return { value: undefined, detail: "the throwaway user and its data are gone" };
}
