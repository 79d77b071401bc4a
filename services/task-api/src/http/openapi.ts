import { problemSchema } from "@taskmesh/core";
import { z } from "zod";
import {
  createDocument,
  type ZodOpenApiLinksObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from "zod-openapi";
import {
  accessTokenSchema,
  createAccessTokenBody,
  createdAccessTokenSchema,
  createListBody,
  createTaskBody,
  historyPageSchema,
  historyQuery,
  idempotencyHeader,
  idParams,
  ifMatchHeader,
  listPageSchema,
  listSchema,
  listTasksQuery,
  meSchema,
  pageOf,
  pageQuery,
  tagPageSchema,
  taskPageSchema,
  taskSchema,
  updateListBody,
  updateMeBody,
  updateTaskBody,
} from "@taskmesh/contracts";

const problem = (description: string, headers?: Record<string, z.ZodType>) => ({
  description,
  content: { "application/problem+json": { schema: problemSchema } },
  ...(headers ? { headers: z.object(headers) } : {}),
});
const retryAfter = { "Retry-After": z.string().meta({ description: "Seconds to wait before retrying." }) };
const json = (
  schema: z.ZodType,
  description: string,
  headers?: Record<string, z.ZodType>,
  links?: ZodOpenApiLinksObject,
) => ({
  description,
  content: { "application/json": { schema } },
  ...(headers ? { headers: z.object(headers) } : {}),
  ...(links ? { links } : {}),
});
const etagHeader = { ETag: z.string().meta({ description: "Quoted version of the resource." }) };
// Sent only while a rate limit is configured (0 turns a limit off), so not required.
const rateHeaders = {
  RateLimit: z.string().optional().meta({ description: "IETF RateLimit header (draft 8)." }),
  "RateLimit-Policy": z.string().optional().meta({ description: "IETF RateLimit-Policy header (draft 8)." }),
};

/** Responses every authenticated route can give. */
const common: ZodOpenApiResponsesObject = {
  "401": problem("Missing, invalid or expired credentials (WWW-Authenticate says which).", {
    "WWW-Authenticate": z
      .string()
      .meta({ description: 'Bearer realm="taskmesh", with error="invalid_token" when a token was sent.' }),
  }),
  "429": problem("Rate limited; see Retry-After.", {
    ...retryAfter,
    RateLimit: z.string().meta({ description: "IETF RateLimit header (draft 8)." }),
    "RateLimit-Policy": z.string().meta({ description: "IETF RateLimit-Policy header (draft 8)." }),
  }),
  "500": problem("Unexpected fault; quote the requestId."),
  "503": problem("The database is unavailable or overloaded; retry after Retry-After.", retryAfter),
};
const forbiddenHeaders = {
  "WWW-Authenticate": z
    .string()
    .meta({ description: 'Bearer realm="taskmesh", error="insufficient_scope", with a description.' }),
};
/** Writes with a token that may only read. */
const readOnly = {
  "403": problem("The token is read-only (scope read): it may only GET and HEAD.", forbiddenHeaders),
};
/** What only the user in person may do: a session or its own access token, not a token or a service. */
const inPerson = {
  "403": problem(
    "Only a signed-in session (or its access token) may do this: not a personal access token, an OAuth client's token or a service.",
    forbiddenHeaders,
  ),
};
/** Writes can lose a race with a concurrent change (deadlock, serialization failure). */
const conflict = { "409": problem("A concurrent change conflicted with this one; retry the request.") };
const withBody: ZodOpenApiResponsesObject = {
  "400": problem("Malformed JSON."),
  "413": problem("Body larger than 64 KiB."),
  "415": problem("Body is not application/json."),
  "422": problem("A field is invalid; errors[] names each one."),
};

function op(
  operationId: string,
  summary: string,
  tag: string,
  responses: ZodOpenApiResponsesObject,
  extra: Omit<ZodOpenApiOperationObject, "operationId" | "responses" | "summary" | "tags"> = {},
): ZodOpenApiOperationObject {
  return {
    operationId,
    summary,
    tags: [tag],
    security: [{ bearer: [] }, { session: [] }],
    ...extra,
    // An operation may describe a common status more precisely (e.g. what its 503 means).
    responses: { ...common, ...responses },
  };
}

const byId = { path: idParams };
const notFound = { "404": problem("No such resource (or not yours).") };
const precondition = { "412": problem("If-Match names an old version.") };
// complete/reopen take no body, but one sent anyway is parsed like any other, and they take an Idempotency-Key.
const actionErrors: ZodOpenApiResponsesObject = {
  ...withBody,
  "400": problem("Malformed JSON, or an Idempotency-Key that is not 1-255 visible ASCII characters."),
  "422": problem("The Idempotency-Key was used with another request."),
};

// The id of the resource in the response body, and its version (the ETag) for If-Match.
const itsId = "$response.body#/id";
const itsVersion = "$response.header.ETag";

interface LinkTarget {
  operationId: string;
  description: string;
  /** The linked operation takes If-Match: pass the ETag of this response. */
  ifMatch?: boolean;
  /** The linked operation's parameter that takes the id (default id). */
  idParameter?: string;
}

/**
 * OpenAPI links from a response that carries one resource to the operations on it, so client
 * generators and stateful API testers can chain a create to what follows it.
 */
function linksTo(targets: Record<string, LinkTarget>): ZodOpenApiLinksObject {
  return Object.fromEntries(
    Object.entries(targets).map(([name, { operationId, description, ifMatch, idParameter = "id" }]) => [
      name,
      {
        operationId,
        description,
        parameters: { [idParameter]: itsId, ...(ifMatch ? { "if-match": itsVersion } : {}) },
      },
    ]),
  );
}

const taskLinks = linksTo({
  GetTask: { operationId: "getTask", description: "Read this task." },
  UpdateTask: { operationId: "updateTask", description: "Change this task, at this version.", ifMatch: true },
  DeleteTask: { operationId: "deleteTask", description: "Delete this task, at this version.", ifMatch: true },
  CompleteTask: {
    operationId: "completeTask",
    description: "Complete this task, at this version.",
    ifMatch: true,
  },
  ReopenTask: { operationId: "reopenTask", description: "Reopen this task, at this version.", ifMatch: true },
  GetTaskHistory: { operationId: "getTaskHistory", description: "This task's history." },
  ListSubtasks: { operationId: "listTasks", description: "This task's subtasks.", idParameter: "parentId" },
});
const listLinks = linksTo({
  GetList: { operationId: "getList", description: "Read this list." },
  UpdateList: { operationId: "updateList", description: "Rename this list, at this version.", ifMatch: true },
  DeleteList: { operationId: "deleteList", description: "Delete this list, at this version.", ifMatch: true },
  ListTasksInList: {
    operationId: "listTasks",
    description: "The tasks in this list.",
    idParameter: "listId",
  },
});
const accessTokenLinks = linksTo({
  GetAccessToken: { operationId: "getAccessToken", description: "Read this token (not its secret)." },
  RevokeAccessToken: { operationId: "revokeAccessToken", description: "Revoke this token." },
});

/**
 * Every operation of task-api with the zod schemas that parse its parameters and bodies: the
 * document below is generated from it, and the tests check generated requests against it.
 */
export const TASK_API_PATHS = {
  "/v1/me": {
    get: op("getMe", "Your profile", "me", { "200": json(meSchema, "Your profile.") }),
    patch: op(
      "updateMe",
      "Change your name or time zone",
      "me",
      { ...conflict, ...readOnly, "200": json(meSchema, "Updated profile."), ...withBody },
      {
        requestBody: { content: { "application/json": { schema: updateMeBody } } },
      },
    ),
    delete: op("deleteMe", "Delete your account and all its data", "me", {
      ...conflict,
      ...inPerson,
      "204": { description: "Deleted." },
    }),
  },
  "/v1/lists": {
    get: op(
      "listLists",
      "Your lists",
      "lists",
      { "200": json(listPageSchema, "A page of lists."), "400": problem("Bad query.") },
      {
        requestParams: { query: pageQuery },
      },
    ),
    post: op(
      "createList",
      "Create a list",
      "lists",
      {
        ...conflict,
        ...readOnly,
        "201": json(listSchema, "Created.", { ...etagHeader, Location: z.string() }, listLinks),
        ...withBody,
      },
      {
        requestParams: { header: idempotencyHeader },
        requestBody: { content: { "application/json": { schema: createListBody } } },
      },
    ),
  },
  "/v1/lists/{id}": {
    get: op(
      "getList",
      "One list",
      "lists",
      { "200": json(listSchema, "The list.", etagHeader, listLinks), ...notFound },
      { requestParams: byId },
    ),
    patch: op(
      "updateList",
      "Rename a list",
      "lists",
      {
        ...conflict,
        ...readOnly,
        "200": json(listSchema, "Updated.", etagHeader, listLinks),
        ...withBody,
        ...notFound,
        ...precondition,
      },
      {
        requestParams: { ...byId, header: ifMatchHeader },
        requestBody: { content: { "application/json": { schema: updateListBody } } },
      },
    ),
    delete: op(
      "deleteList",
      "Delete a list and its tasks",
      "lists",
      { ...conflict, ...readOnly, "204": { description: "Deleted." }, ...notFound, ...precondition },
      {
        requestParams: { ...byId, header: ifMatchHeader },
      },
    ),
  },
  "/v1/tasks": {
    get: op(
      "listTasks",
      "Find tasks",
      "tasks",
      {
        "200": json(taskPageSchema, "A page of tasks.", rateHeaders),
        "400": problem("Bad query."),
      },
      {
        requestParams: { query: listTasksQuery },
      },
    ),
    post: op(
      "createTask",
      "Create a task",
      "tasks",
      {
        ...conflict,
        ...readOnly,
        "201": json(taskSchema, "Created.", { ...etagHeader, Location: z.string() }, taskLinks),
        ...withBody,
      },
      {
        requestParams: { header: idempotencyHeader },
        requestBody: { content: { "application/json": { schema: createTaskBody } } },
      },
    ),
  },
  "/v1/tasks/{id}": {
    get: op(
      "getTask",
      "One task",
      "tasks",
      {
        "200": json(taskSchema, "The task.", etagHeader, taskLinks),
        "304": { description: "Not modified (If-None-Match)." },
        ...notFound,
      },
      {
        requestParams: byId,
      },
    ),
    patch: op(
      "updateTask",
      "Change a task",
      "tasks",
      {
        ...conflict,
        ...readOnly,
        "200": json(taskSchema, "Updated.", etagHeader, taskLinks),
        ...withBody,
        ...notFound,
        ...precondition,
      },
      {
        requestParams: { ...byId, header: ifMatchHeader },
        requestBody: {
          content: {
            "application/json": { schema: updateTaskBody },
            "application/merge-patch+json": { schema: updateTaskBody },
          },
        },
      },
    ),
    delete: op(
      "deleteTask",
      "Delete a task and its subtasks",
      "tasks",
      { ...conflict, ...readOnly, "204": { description: "Deleted." }, ...notFound, ...precondition },
      {
        requestParams: { ...byId, header: ifMatchHeader },
      },
    ),
  },
  "/v1/tasks/{id}/history": {
    get: op(
      "getTaskHistory",
      "A task's history: every change, who made it and when, oldest first",
      "tasks",
      {
        "200": json(historyPageSchema, "A page of the history."),
        "400": problem("Bad query, or a cursor this endpoint did not issue."),
        "404": problem(
          "Not one of your tasks, and no history of yours for it (a deleted task's history stays readable).",
        ),
        "503": problem(
          "The history (audit-log) or the database is unreachable; retry after Retry-After.",
          retryAfter,
        ),
      },
      {
        requestParams: { ...byId, query: historyQuery },
        description:
          "Read from the audit-log service, which records every task event; a change shows up there shortly after it is made.",
      },
    ),
  },
  "/v1/tasks/{id}/complete": {
    post: op(
      "completeTask",
      "Complete a task (and its subtasks)",
      "tasks",
      {
        ...conflict,
        ...readOnly,
        "200": json(taskSchema, "Completed.", etagHeader, taskLinks),
        ...actionErrors,
        ...notFound,
        ...precondition,
      },
      {
        requestParams: { ...byId, header: ifMatchHeader.extend(idempotencyHeader.shape) },
      },
    ),
  },
  "/v1/tasks/{id}/reopen": {
    post: op(
      "reopenTask",
      "Reopen a task",
      "tasks",
      {
        ...conflict,
        ...readOnly,
        "200": json(taskSchema, "Reopened.", etagHeader, taskLinks),
        ...actionErrors,
        ...notFound,
        ...precondition,
      },
      {
        requestParams: { ...byId, header: ifMatchHeader.extend(idempotencyHeader.shape) },
      },
    ),
  },
  "/v1/tokens": {
    get: op(
      "listAccessTokens",
      "Your personal access tokens, newest first (never their secrets)",
      "tokens",
      {
        "200": json(pageOf(accessTokenSchema, "AccessTokenPage"), "A page of tokens."),
        "400": problem("Bad query, or a cursor this endpoint did not issue."),
        ...inPerson,
      },
      { requestParams: { query: pageQuery } },
    ),
    post: op(
      "createAccessToken",
      "Create a personal access token (the secret is in this response only)",
      "tokens",
      {
        ...conflict,
        "201": json(
          createdAccessTokenSchema,
          "Created; store the token now, it is not shown again.",
          {
            Location: z.string(),
            "Cache-Control": z.string().meta({ description: "no-store" }),
          },
          accessTokenLinks,
        ),
        ...withBody,
        "422": problem("A field is invalid (errors[] names each one), or you already have 100 tokens."),
        ...inPerson,
      },
      {
        requestBody: { content: { "application/json": { schema: createAccessTokenBody } } },
        description:
          "Send the token as `Authorization: Bearer <token>` to this API, to the MCP server, or to its stdio transport. A read token may only GET and HEAD; no token may manage tokens or delete the account.",
      },
    ),
  },
  "/v1/tokens/{id}": {
    get: op(
      "getAccessToken",
      "One personal access token",
      "tokens",
      { "200": json(accessTokenSchema, "The token (not its secret)."), ...notFound, ...inPerson },
      { requestParams: byId },
    ),
    delete: op(
      "revokeAccessToken",
      "Revoke a personal access token (at once)",
      "tokens",
      { ...conflict, "204": { description: "Revoked." }, ...notFound, ...inPerson },
      { requestParams: byId },
    ),
  },
  "/v1/tags": {
    get: op(
      "listTags",
      "Your tags",
      "tags",
      {
        "200": json(tagPageSchema, "A page of tags by name."),
        "400": problem("Bad query."),
      },
      {
        requestParams: { query: pageQuery },
      },
    ),
  },
} satisfies ZodOpenApiPathsObject;

/** The OpenAPI 3.1 document of task-api, built from the schemas that validate requests. */
export function createOpenApiDocument(serverUrl: string) {
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "taskmesh task-api",
      version: "1.0.0",
      description:
        "Tasks, lists and tags for many users. Every error is RFC 9457 problem+json with a stable `type`. Authenticate with a bearer token: a JWT access token from GET /api/auth/token, a session token from sign-in (set-auth-token header), or a personal access token (tmpat_..., from POST /v1/tokens).",
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "JWT access token (15 min), session token, or personal access token (tmpat_...).",
        },
        session: { type: "apiKey", in: "cookie", name: "better-auth.session_token" },
      },
    },
    paths: TASK_API_PATHS,
  });
}
