/**
 * A task-api user over the REST API, as any client would use it: sign-up, a JWT access token
 * (renewed before it expires), and the task routes with If-Match versions.
 */
import { randomUUID } from "node:crypto";

export interface ApiResponse {
  status: number;
  /** Parsed JSON body, when there was one. */
  body: unknown;
  /** Network failure or timeout: the request may or may not have been applied. */
  error?: string;
}

/** The fields of a task the fault run follows. */
export interface TaskBody {
  id: string;
  version: number;
  completed: boolean;
  dueAt: string | null;
  recurrence: string | null;
  title: string;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Access tokens live 15 minutes; renew well before. */
const TOKEN_RENEW_MS = 10 * 60_000;

export async function call(
  baseUrl: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse & { headers?: Headers }> {
  try {
    const res = await fetch(`${baseUrl}${route}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let body: unknown = undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.status, body, headers: res.headers };
  } catch (error) {
    return { status: 0, body: undefined, error: error instanceof Error ? error.message : String(error) };
  }
}

export class ApiUser {
  readonly id: string;
  readonly email: string;
  private readonly baseUrl: string;
  private readonly sessionToken: string;
  private accessToken: string;
  private tokenAt: number;
  private renewing: Promise<void> | undefined;

  private constructor(baseUrl: string, id: string, email: string, sessionToken: string, accessToken: string) {
    this.baseUrl = baseUrl;
    this.id = id;
    this.email = email;
    this.sessionToken = sessionToken;
    this.accessToken = accessToken;
    this.tokenAt = Date.now();
  }

  /** Signs up a new user (unique email) and fetches an access token. */
  static async signUp(baseUrl: string, options: { name: string; timeZone?: string }): Promise<ApiUser> {
    const email = `fault-${randomUUID()}@example.com`;
    const res = await call(baseUrl, "POST", "/api/auth/sign-up/email", {
      // Better Auth refuses a sign-up without an Origin it trusts (task-api's own public URL).
      headers: { origin: `http://localhost:${new URL(baseUrl).port}` },
      body: {
        email,
        password: "correct-horse-battery",
        name: options.name,
        ...(options.timeZone ? { timeZone: options.timeZone } : {}),
      },
    });
    const session = res.headers?.get("set-auth-token");
    if (res.status !== 200 || !session)
      throw new Error(`sign-up failed: ${res.status} ${res.error ?? JSON.stringify(res.body)}`);
    const id = (res.body as { user?: { id?: string } }).user?.id;
    if (!id) throw new Error("sign-up answered without a user id");
    const token = await ApiUser.fetchToken(baseUrl, session);
    return new ApiUser(baseUrl, id, email, session, token);
  }

  private static async fetchToken(baseUrl: string, session: string): Promise<string> {
    const res = await call(baseUrl, "GET", "/api/auth/token", { token: session });
    const token = (res.body as { token?: string } | undefined)?.token;
    if (res.status !== 200 || !token)
      throw new Error(`GET /api/auth/token: ${res.status} ${res.error ?? ""}`);
    return token;
  }

  /** The current access token, renewed in the background when old (a failed renewal keeps the old one). */
  private token(): string {
    if (Date.now() - this.tokenAt > TOKEN_RENEW_MS && !this.renewing) {
      this.renewing = ApiUser.fetchToken(this.baseUrl, this.sessionToken)
        .then((token) => {
          this.accessToken = token;
          this.tokenAt = Date.now();
        })
        .catch(() => undefined)
        .finally(() => {
          this.renewing = undefined;
        });
    }
    return this.accessToken;
  }

  request(
    method: string,
    route: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse> {
    return call(this.baseUrl, method, route, { ...options, token: this.token() });
  }

  createTask(body: Record<string, unknown>, idempotencyKey: string): Promise<ApiResponse> {
    return this.request("POST", "/v1/tasks", { body, headers: { "idempotency-key": idempotencyKey } });
  }

  getTask(id: string): Promise<ApiResponse> {
    return this.request("GET", `/v1/tasks/${id}`);
  }

  updateTask(id: string, version: number, body: Record<string, unknown>): Promise<ApiResponse> {
    return this.request("PATCH", `/v1/tasks/${id}`, { body, headers: { "if-match": `"${version}"` } });
  }

  completeTask(id: string, version: number): Promise<ApiResponse> {
    return this.request("POST", `/v1/tasks/${id}/complete`, { headers: { "if-match": `"${version}"` } });
  }

  reopenTask(id: string, version: number): Promise<ApiResponse> {
    return this.request("POST", `/v1/tasks/${id}/reopen`, { headers: { "if-match": `"${version}"` } });
  }

  deleteTask(id: string, version: number): Promise<ApiResponse> {
    return this.request("DELETE", `/v1/tasks/${id}`, { headers: { "if-match": `"${version}"` } });
  }
}

export function isTaskBody(body: unknown): body is TaskBody {
  const b = body as Partial<TaskBody> | undefined;
  return typeof b?.id === "string" && typeof b.version === "number";
}
