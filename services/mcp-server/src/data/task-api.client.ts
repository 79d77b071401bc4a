import {
  AppError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  PreconditionFailedError,
  QuotaExceededError,
  UnavailableError,
  problemSchema,
  type FieldIssue,
} from "@taskmesh/core";
import type { TokenScope } from "@taskmesh/auth";
import {
  historyPageSchema,
  listSchema,
  meSchema,
  listPageSchema,
  tagPageSchema,
  taskPageSchema,
  taskSchema,
  type HistoryEntry,
  type List,
  type Me,
  type Page,
  type Tag,
  type Task,
} from "@taskmesh/contracts";
import type { SidecarClient } from "@taskmesh/dapr";
import { z } from "zod";

/** task-api's header naming the user a trusted app acts for (the trusted-caller contract). */
export const USER_ID_HEADER = "x-taskmesh-user-id";
/** The scope of the user's token the call is made with; task-api refuses writes for "read". */
export const SCOPE_HEADER = "x-taskmesh-scope";

/** One call of task-api's REST API, `path` relative to its root (e.g. "v1/tasks/123"). */
export interface TaskApiCall {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Sends one call on behalf of the user the transport was made for. */
export type TaskApiTransport = (call: TaskApiCall) => Promise<Response>;

/**
 * Through this app's own sidecar (service invocation, mTLS): task-api trusts the call because
 * its sidecar delivers it on task-api's sidecar listener with task-api's app token and the
 * caller id "mcp-server". The client's bearer token never leaves the mcp-server; only the user
 * id it proved and its scope travel, so task-api itself refuses a read-only token's writes.
 */
export function sidecarTransport(
  sidecar: Pick<SidecarClient, "invoke">,
  appId: string,
  userId: string,
  scope: TokenScope,
): TaskApiTransport {
  return (call) =>
    sidecar.invoke(appId, call.path, {
      method: call.method ?? "GET",
      // Last, so no call's own headers can widen the scope or change the user.
      headers: { ...call.headers, [USER_ID_HEADER]: userId, [SCOPE_HEADER]: scope },
      ...(call.body === undefined ? {} : { body: call.body }),
      ...(call.query && call.query.size > 0 ? { query: call.query.toString() } : {}),
    });
}

/**
 * Straight to task-api's public REST API with the user's own personal access token (the stdio
 * server on a desktop has no sidecar). The token is the user's, presented by the user's own
 * process to the API it was issued for: not a passthrough of someone else's token.
 */
export function restTransport(baseUrl: string, token: string, timeoutMs = 15_000): TaskApiTransport {
  const base = baseUrl.replace(/\/$/, "");
  return async (call) => {
    const headers: Record<string, string> = { ...call.headers, authorization: `Bearer ${token}` };
    if (call.body !== undefined) headers["content-type"] = "application/json";
    const query = call.query && call.query.size > 0 ? `?${call.query.toString()}` : "";
    try {
      return await fetch(`${base}/${call.path}${query}`, {
        method: call.method ?? "GET",
        headers,
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new UnavailableError(TASK_API_UNAVAILABLE_DETAIL, 2, {
        cause: new Error(`task-api at ${base} is unreachable`, { cause: error }),
      });
    }
  };
}

// The shapes task-api answers with are the REST contract's: a field task-api adds reaches the tools.
export type { HistoryEntry, List as TaskList, Me, Page, Tag, Task } from "@taskmesh/contracts";

/** task-api as the tools use it, for one user. Failures are AppErrors (see errorFrom). */
export interface TaskApi {
  listTasks(query: URLSearchParams): Promise<Page<Task>>;
  getTask(id: string): Promise<Task>;
  createTask(input: Record<string, unknown>, idempotencyKey?: string): Promise<Task>;
  updateTask(id: string, changes: Record<string, unknown>, expectedVersion?: number): Promise<Task>;
  completeTask(id: string, expectedVersion?: number): Promise<Task>;
  reopenTask(id: string, expectedVersion?: number): Promise<Task>;
  deleteTask(id: string, expectedVersion?: number): Promise<void>;
  listLists(cursor: string | undefined, limit: number): Promise<Page<List>>;
  createList(name: string, idempotencyKey?: string): Promise<List>;
  listTags(cursor: string | undefined, limit: number): Promise<Page<Tag>>;
  taskHistory(id: string, cursor: string | undefined, limit: number): Promise<Page<HistoryEntry>>;
  me(): Promise<Me>;
}

const ifMatch = (version: number | undefined): Record<string, string> =>
  version === undefined ? {} : { "if-match": `"${version}"` };

const pageQuery = (cursor: string | undefined, limit: number): URLSearchParams => {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor !== undefined) query.set("cursor", cursor);
  return query;
};

/**
 * What a tool result says when task-api cannot be used right now: never its address, status or
 * error text (those are in the error's cause, for the logs).
 */
export const TASK_API_UNAVAILABLE_DETAIL = "taskmesh is briefly unavailable; try again in a few seconds.";

/**
 * Turns a task-api refusal into the AppError the tools report. The problem's detail and field
 * issues are kept: they tell the model how to fix its call.
 */
async function errorFrom(response: Response, what: string): Promise<AppError> {
  const text = await response.text().catch(() => "");
  let detail: string | undefined;
  let issues: FieldIssue[] = [];
  let quota: { quota: string; limit: number } | undefined;
  try {
    const problem = problemSchema.safeParse(JSON.parse(text));
    if (problem.success) {
      detail = problem.data.detail;
      issues = problem.data.errors ?? [];
      const { code, quota: name, limit } = problem.data as { code: string; quota?: unknown; limit?: unknown };
      if (code === "quota-exceeded" && typeof name === "string" && typeof limit === "number")
        quota = { quota: name, limit };
    }
  } catch {
    detail = undefined;
  }
  const status = response.status;
  const retryAfter = Number(response.headers.get("retry-after") ?? "1") || 1;
  if (status === 404) return new NotFoundError(what);
  // Not a fault of the input: the account is full, and retrying will not help.
  if (status === 422 && quota)
    return new QuotaExceededError(quota.quota, quota.limit, detail ?? `the ${quota.quota} quota is full`);
  if (status === 400 || status === 422)
    return new InvalidError(detail ?? `task-api refused the ${what} input`, issues);
  if (status === 409) return new ConflictError(detail ?? `${what} conflicts with its current state`);
  if (status === 412)
    return new PreconditionFailedError(detail ?? `${what} changed since the version you sent`);
  if (status === 401 || status === 403)
    return new ForbiddenError(detail ?? `not allowed to change this ${what}`);
  if (status === 429) {
    return new AppError("rate-limited", detail ?? "task-api is rate limiting this user", {
      extensions: { retryAfterSeconds: retryAfter },
    });
  }
  // The model (and whoever reads its transcript) learns what to do; the logs what failed.
  return new UnavailableError(TASK_API_UNAVAILABLE_DETAIL, retryAfter, {
    cause: new Error(`task-api answered HTTP ${status} for the ${what}: ${text.slice(0, 500)}`),
  });
}

/** TaskApi over a transport (sidecar for the HTTP server, REST + PAT for stdio). */
export function createTaskApi(send: TaskApiTransport): TaskApi {
  /**
   * Sends the call and parses task-api's answer with the contract's schema for it. An answer
   * that is not JSON or not the contract's is a fault (internal), like any other bug.
   */
  async function json<S extends z.ZodType>(call: TaskApiCall, schema: S, what: string): Promise<z.infer<S>> {
    const response = await send(call);
    if (!response.ok) throw await errorFrom(response, what);
    const parsed = schema.safeParse(await response.json());
    if (!parsed.success) {
      throw new Error(
        `task-api's ${what} answer does not match the contract: ${z.prettifyError(parsed.error)}`,
      );
    }
    return parsed.data;
  }
  const taskPath = (id: string): string => `v1/tasks/${encodeURIComponent(id)}`;
  // complete/reopen carry an empty JSON object: daprd forwards a body-less POST without a
  // content type as a chunked request, which task-api's JSON-only body parser refuses (415).

  return {
    listTasks: (query) => json({ path: "v1/tasks", query }, taskPageSchema, "task list"),
    getTask: (id) => json({ path: taskPath(id) }, taskSchema, "Task"),
    createTask: (input, idempotencyKey) =>
      json(
        {
          method: "POST",
          path: "v1/tasks",
          body: input,
          headers: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey },
        },
        taskSchema,
        "Task",
      ),
    updateTask: (id, changes, version) =>
      json(
        {
          method: "PATCH",
          path: taskPath(id),
          body: changes,
          headers: ifMatch(version),
        },
        taskSchema,
        "Task",
      ),
    completeTask: (id, version) =>
      json(
        { method: "POST", path: `${taskPath(id)}/complete`, body: {}, headers: ifMatch(version) },
        taskSchema,
        "Task",
      ),
    reopenTask: (id, version) =>
      json(
        { method: "POST", path: `${taskPath(id)}/reopen`, body: {}, headers: ifMatch(version) },
        taskSchema,
        "Task",
      ),
    async deleteTask(id, version) {
      const response = await send({ method: "DELETE", path: taskPath(id), headers: ifMatch(version) });
      if (!response.ok) throw await errorFrom(response, "Task");
      await response.body?.cancel();
    },
    listLists: (cursor, limit) =>
      json({ path: "v1/lists", query: pageQuery(cursor, limit) }, listPageSchema, "list page"),
    createList: (name, idempotencyKey) =>
      json(
        {
          method: "POST",
          path: "v1/lists",
          body: { name },
          headers: idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey },
        },
        listSchema,
        "List",
      ),
    listTags: (cursor, limit) =>
      json({ path: "v1/tags", query: pageQuery(cursor, limit) }, tagPageSchema, "tag page"),
    taskHistory: (id, cursor, limit) =>
      json({ path: `${taskPath(id)}/history`, query: pageQuery(cursor, limit) }, historyPageSchema, "Task"),
    me: () => json({ path: "v1/me" }, meSchema, "user"),
  };
}
