import {
  ForbiddenError,
  InvalidError,
  NotFoundError,
  problemSchema,
  UnavailableError,
  type AppError,
  type Problem,
} from "@taskmesh/core";
import { meSchema, taskSchema } from "@taskmesh/contracts";
import type { SidecarClient } from "@taskmesh/dapr";
import { z } from "zod";
import type { NewTask, TaskApi } from "../domain/schedule-next-occurrence.use-case.ts";

// The port lives with the use case that needs it; this module implements it.
export type { NewTask, TaskApi };

/** task-api's header naming the user a trusted app acts for (the brief's trusted-caller contract). */
export const USER_ID_HEADER = "x-taskmesh-user-id";
/** task-api's header that makes a create idempotent per occurrence (unique per user). */
export const OCCURRENCE_KEY_HEADER = "x-taskmesh-occurrence-key";

/** task-api answered with a client error: the request can never succeed as it is. */
interface Refusal {
  status: number;
  problem: Problem | undefined;
}

/**
 * Statuses that may pass: timeouts, a lost race (409: a concurrent create with the same
 * occurrence key, or an idempotency record in use), rate limits and server errors.
 */
function isTransient(status: number): boolean {
  return status >= 500 || status === 408 || status === 409 || status === 425 || status === 429;
}

// Only the fields this client reads, each as the REST contract defines it.
const meAnswer = meSchema.pick({ timeZone: true });
const createdAnswer = taskSchema.pick({ id: true });

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

function describe(what: string, refusal: Refusal): string {
  const problem = refusal.problem;
  const fields = problem?.errors?.map((e) => `${e.pointer} ${e.detail}`).join("; ");
  return `${what} answered ${refusal.status} ${problem?.code ?? ""}: ${problem?.detail ?? problem?.title ?? ""}${fields ? ` (${fields})` : ""}`;
}

/**
 * task-api's refusal as a domain error. It answers a trusted caller 404 when the owner's
 * account no longer exists, and 422 naming the list when the list was deleted (its tasks, this
 * series, went with it).
 */
async function refused(response: Response, what: string): Promise<AppError> {
  const refusal = await refusalOf(response);
  const cause = new Error(describe(what, refusal));
  if (refusal.status === 404) return new NotFoundError("The owner's account", { cause });
  const issues = refusal.problem?.errors ?? [];
  if (refusal.status === 422 && issues.some((e) => e.pointer === "/listId"))
    return new NotFoundError("The task's list", { cause });
  if (refusal.status === 401 || refusal.status === 403) return new ForbiddenError(cause.message, { cause });
  return new InvalidError(cause.message, issues, { cause });
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
      if (response.ok) return (await parseBody(response, meAnswer, "GET /v1/me")).timeZone;
      if (isTransient(response.status)) throw await unavailable(response, "GET /v1/me");
      throw await refused(response, "GET /v1/me");
    },

    async createOccurrence(userId, occurrenceKey, task) {
      const response = await sidecar.invoke(appId, "v1/tasks", {
        method: "POST",
        headers: { [USER_ID_HEADER]: userId, [OCCURRENCE_KEY_HEADER]: occurrenceKey },
        body: task,
      });
      if (response.ok) {
        const { id } = await parseBody(response, createdAnswer, "POST /v1/tasks");
        return { id, created: response.status === 201 };
      }
      if (isTransient(response.status)) throw await unavailable(response, "POST /v1/tasks");
      throw await refused(response, "POST /v1/tasks");
    },
  };
}
