/**
 * What task-api's OpenAPI contract tests share: the document as the app serves it, built here
 * too so the operation lists come from it; a task-api for a file whose responses are checked
 * against the document it serves (useContractApi); and a call of any operation with a body it
 * accepts (call).
 */
import type { Response, Test } from "supertest";
import { beforeAll, expect } from "vitest";
import type { TaskHistory, TaskHistoryPage } from "../../services/task-api/src/data/task-history.client.ts";
import { createOpenApiDocument } from "../../services/task-api/src/http/openapi.ts";
import { lateBound } from "./late-bound.ts";
import { loadOpenApiContract, type OpenApiContract, type OpenApiDocument } from "./openapi.ts";
import { TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "./task-api.ts";
import { useTaskApi } from "./task-api-fixtures.ts";

export type Method = "get" | "post" | "patch" | "delete";
export type Operation = readonly [Method, string];

const METHODS: readonly Method[] = ["get", "post", "patch", "delete"];
/** The document as the app serves it (openapi-document.test.ts checks that it is). */
export const DOCUMENT = JSON.parse(JSON.stringify(createOpenApiDocument(TEST_PUBLIC_URL))) as OpenApiDocument;
/** Every documented operation; openapi-document.test.ts checks that they are exactly the routes the app mounts. */
export const OPERATIONS: readonly Operation[] = Object.entries(DOCUMENT.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method): Operation => [method, path]),
);

/** A body each operation accepts, so a test reaches the part it is about. */
export const VALID_BODY: Partial<Record<string, object>> = {
  "patch /v1/me": { name: "Valid Name" },
  "post /v1/lists": { name: "Valid list" },
  "patch /v1/lists/{id}": { name: "Valid list" },
  "post /v1/tasks": { title: "Valid task" },
  "patch /v1/tasks/{id}": { title: "Valid task" },
  "post /v1/tokens": { name: "Valid token", scope: "read", expiresInDays: 30 },
};

export interface Link {
  operationId: string;
  parameters?: Record<string, string>;
}
/** The parts of an operation and its responses that the support types leave out. */
export interface Linked {
  operationId?: string;
}
export const linksOf = (response: object | undefined): Record<string, Link> =>
  (response as { links?: Record<string, Link> } | undefined)?.links ?? {};

/** Calls an operation on `target` (a random id, VALID_BODY unless a body is given). */
export function call(
  target: TestTaskApi,
  [method, template]: Operation,
  options: { id?: string; auth?: TestUser; body?: object } = {},
): Test {
  const path = template.replace("{id}", options.id ?? crypto.randomUUID());
  let req = target.request[method](path);
  if (options.auth) req = req.set(options.auth.auth);
  const body = options.body ?? VALID_BODY[`${method} ${template}`];
  return body === undefined ? req : req.send(body);
}

export interface ContractApi {
  /** task-api for the file, its task history read from `recordedHistory`. */
  api: TestTaskApi;
  /** The document `api` serves, as a checker; each property read reaches the one beforeAll loaded. */
  contract: OpenApiContract;
  /**
   * History pages by task id. These files check responses against the document, so the history
   * comes from here; the real path (task-api -> sidecars -> audit-log) is tested in
   * task-history.test.ts.
   */
  recordedHistory: Map<string, TaskHistoryPage>;
  history: TaskHistory;
  /** Asserts the status, then checks the whole response against the document. */
  check: (res: Response, operation: Operation, status: number) => Response;
  /** Asserts that every documented status that `counts` was seen and checked in this file. */
  expectAllChecked: (counts: (status: string) => boolean) => void;
}

/** useTaskApi with a recorded task history, and the contract it serves loaded in beforeAll. */
export function useContractApi(): ContractApi {
  const recordedHistory = new Map<string, TaskHistoryPage>();
  const history: TaskHistory = {
    read: ({ taskId }) => Promise.resolve(recordedHistory.get(taskId) ?? { data: [], nextCursor: null }),
  };
  const api = useTaskApi({ taskHistory: history });
  let loaded: OpenApiContract | undefined;
  beforeAll(async () => {
    loaded = await loadOpenApiContract(api.request);
  });
  const contract = lateBound(() => loaded, "the OpenAPI contract");
  return {
    api,
    contract,
    recordedHistory,
    history,
    check: (res, [method, path], status) => {
      expect(res.status, `${method.toUpperCase()} ${path}: ${res.text}`).toBe(status);
      return contract.validate(res, method, path);
    },
    expectAllChecked: (counts) => {
      const missing = contract.operations.flatMap(({ method, path, operation }) =>
        Object.keys(operation.responses)
          .filter(counts)
          .map((status) => `${method.toUpperCase()} ${path} ${status}`)
          .filter((key) => !contract.validated.has(key)),
      );
      expect(missing).toEqual([]);
    },
  };
}
