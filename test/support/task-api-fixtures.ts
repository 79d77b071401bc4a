/**
 * What task-api's component tests do in every file: run the app for the file (useTaskApi), and
 * as a signed-up user create, read and list tasks and lists over HTTP (taskApiFixtures), then
 * check an RFC 9457 problem answer (expectProblem).
 */
import type { Response, Test } from "supertest";
import { afterAll, beforeAll, expect } from "vitest";
import type { ListView } from "../../services/task-api/src/data/list.repository.ts";
import type { TagView } from "../../services/task-api/src/data/tag.repository.ts";
import type { TaskView } from "../../services/task-api/src/data/task.repository.ts";
import { lateBound } from "./late-bound.ts";
import { startTaskApi, type TestTaskApi, type TestUser } from "./task-api.ts";

export type { ListView, TagView, TaskView };

/** Every list answer: one page of items and the cursor of the next (null on the last). */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** A problem+json body as task-api answers it. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  errors?: { pointer: string; in: string; detail: string }[];
  currentVersion?: number;
}

export const PROBLEMS = "https://taskmesh.dev/problems/";

export type Query = Record<string, string | number | string[]>;

/**
 * startTaskApi for a whole file: started in beforeAll, closed in afterAll. Call it at the top of
 * the file or of a describe block; the app it returns can be used inside tests (and handed to
 * taskApiFixtures at once), each property read reaching the running app.
 */
export function useTaskApi(...args: Parameters<typeof startTaskApi>): TestTaskApi {
  let started: TestTaskApi | undefined;
  beforeAll(async () => {
    started = await startTaskApi(...args);
  });
  afterAll(async () => {
    await started?.close();
  });
  return lateBound(() => started, "task-api");
}

/** Asserts an RFC 9457 problem with the stable type and, when given, exactly these field pointers. */
export function expectProblem(res: Response, status: number, code: string, pointers?: string[]): ProblemBody {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.body as ProblemBody;
  expect(body).toMatchObject({ type: PROBLEMS + code, status, code });
  // One field may break several rules; each field is named at least once and nothing else is.
  if (pointers !== undefined)
    expect([...new Set((body.errors ?? []).map((e) => e.pointer))].sort()).toEqual([...pointers].sort());
  return body;
}

/** The task a response carries. */
export const taskOf = (res: Response): TaskView => res.body as TaskView;

/** Follows nextCursor from the first page to the last (at most `maxPages`). */
export async function allPages<T>(
  page: (cursor: string | null) => Promise<Page<T>>,
  maxPages = 50,
): Promise<{ pages: Page<T>[]; items: T[] }> {
  const pages: Page<T>[] = [];
  let cursor: string | null = null;
  do {
    const next = await page(cursor);
    pages.push(next);
    cursor = next.nextCursor;
  } while (cursor !== null && pages.length < maxPages);
  return { pages, items: pages.flatMap((p) => p.data) };
}

export interface TaskApiFixtures {
  /** POST /v1/tasks, expecting 201. */
  createTask: (user: TestUser, body: object) => Promise<TaskView>;
  /** GET /v1/tasks/:id, expecting 200. */
  readTask: (user: TestUser, id: string) => Promise<TaskView>;
  /** GET /v1/tasks with this query, expecting 200. */
  listTasks: (user: TestUser, query?: Query) => Promise<Page<TaskView>>;
  /** POST /v1/lists, expecting 201. */
  createList: (user: TestUser, name: string) => Promise<ListView>;
  /** POST `path` as `user` with this Idempotency-Key; not awaited, so the test adds `.expect()`. */
  postWithKey: (user: TestUser, path: string, body: object | undefined, key: string) => Test;
  /** The user's tasks in the database (also the ones no route answers with). */
  taskCount: (user: TestUser) => Promise<number>;
}

/** The calls the task tests make as a user, against `api` (e.g. useTaskApi's). */
export function taskApiFixtures(api: TestTaskApi): TaskApiFixtures {
  return {
    createTask: async (user, body) => {
      return (await api.as(user).post("/v1/tasks", body).expect(201)).body as TaskView;
    },
    readTask: async (user, id) => {
      return (await api.as(user).get(`/v1/tasks/${id}`).expect(200)).body as TaskView;
    },
    listTasks: async (user, query = {}) => {
      return (await api.request.get("/v1/tasks").query(query).set(user.auth).expect(200))
        .body as Page<TaskView>;
    },
    createList: async (user, name) => {
      return (await api.as(user).post("/v1/lists", { name }).expect(201)).body as ListView;
    },
    postWithKey: (user, path, body, key) => api.as(user).post(path, body, { "Idempotency-Key": key }),
    taskCount: (user) => {
      return api.prisma.task.count({ where: { userId: user.id } });
    },
  };
}
