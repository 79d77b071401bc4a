import { problemSchema, UnavailableError, type Problem } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import { z } from "zod";

/** task-api's header naming the user a trusted app acts for (the brief's trusted-caller contract). */
export const USER_ID_HEADER = "x-taskmesh-user-id";
/** task-api's header that makes a create idempotent per occurrence (unique per user). */
export const OCCURRENCE_KEY_HEADER = "x-taskmesh-occurrence-key";

/** The body of `POST /v1/tasks` for a next occurrence (task-api's CreateTask schema). */
export interface NewTask {
  title: string;
  description: string | null;
  priority: string;
  tags: string[];
  listId: string | null;
  /** An instant, or for an all-day task its local date (YYYY-MM-DD). */
  dueAt: string;
  allDay: boolean;
  recurrence: string;
  remindAt: string | null;
}

/** task-api answered with a client error: the request can never succeed as it is. */
export interface Refusal {
  status: number;
  problem: Problem | undefined;
}

export type TaskApiResult<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

/**
 * task-api as recurring-tasks uses it, acting for a task's owner. Transient failures (the
 * sidecar or task-api unreachable, 5xx, 408, 409, 429) throw UnavailableError; other client
 * errors are returned as a Refusal for the caller to judge.
 */
export interface TaskApi {
  /** The owner's IANA time zone (GET /v1/me). */
  timeZoneOf(userId: string): Promise<TaskApiResult<string>>;
  /**
   * Creates the task unless one with this occurrence key exists already (POST /v1/tasks):
   * `created` says which.
   */
  createOccurrence(
    userId: string,
    occurrenceKey: string,
    task: NewTask,
  ): Promise<TaskApiResult<{ id: string; created: boolean }>>;
}

/**
 * Statuses that may pass: timeouts, a lost race (409: a concurrent create with the same
 * occurrence key, or an idempotency record in use), rate limits and server errors.
 */
function isTransient(status: number): boolean {
  return status >= 500 || status === 408 || status === 409 || status === 425 || status === 429;
}

const meSchema = z.looseObject({ timeZone: z.string().min(1) });
const taskSchema = z.looseObject({ id: z.string().min(1) });

async function refusalOf(response: Response): Promise<Refusal> {
  const text = await response.text();
  let problem: Problem | undefined;
  try {
    const parsed = problemSchema.safeParse(JSON.parse(text));
    problem = parsed.success ? parsed.data : undefined;
  } catch {
    problem = undefined;
  }
  return { status: response.status, problem };
}

async function unavailable(response: Response, what: string): Promise<UnavailableError> {
  const text = (await response.text()).slice(0, 500);
  return new UnavailableError(`task-api ${what}: HTTP ${response.status} ${text}`, 1);
}

async function parseBody<T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> {
  const body = schema.safeParse(await response.json());
  // task-api answered 2xx with something else: a version mismatch; retrying may meet a fixed replica.
  if (!body.success)
    throw new UnavailableError(`task-api ${what}: unexpected answer ${body.error.message}`, 1);
  return body.data;
}

/** TaskApi through this app's sidecar (service invocation; daprd adds the caller's app id). */
export function createTaskApiClient(options: {
  sidecar: Pick<SidecarClient, "invoke">;
  appId: string;
}): TaskApi {
  const { sidecar, appId } = options;
  return {
    async timeZoneOf(userId) {
      const response = await sidecar.invoke(appId, "v1/me", { headers: { [USER_ID_HEADER]: userId } });
      if (response.ok) {
        return { ok: true, value: (await parseBody(response, meSchema, "GET /v1/me")).timeZone };
      }
      if (isTransient(response.status)) throw await unavailable(response, "GET /v1/me");
      return { ok: false, refusal: await refusalOf(response) };
    },

    async createOccurrence(userId, occurrenceKey, task) {
      const response = await sidecar.invoke(appId, "v1/tasks", {
        method: "POST",
        headers: { [USER_ID_HEADER]: userId, [OCCURRENCE_KEY_HEADER]: occurrenceKey },
        body: task,
      });
      if (response.ok) {
        const { id } = await parseBody(response, taskSchema, "POST /v1/tasks");
        return { ok: true, value: { id, created: response.status === 201 } };
      }
      if (isTransient(response.status)) throw await unavailable(response, "POST /v1/tasks");
      return { ok: false, refusal: await refusalOf(response) };
    },
  };
}
