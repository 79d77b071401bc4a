/**
 * A service acting for a user carries the user's token scope: mcp-server sends the scope of the
 * token it verified with every call to task-api (x-taskmesh-scope), and task-api itself refuses a
 * read-only token's writes, whatever mcp-server's own tool list would have allowed. Real
 * mcp-server and task-api apps; task-api's sidecar is played by taskApiSidecar (the same calls
 * through real daprd: test/stack/listeners.test.ts).
 */
import type { TokenScope } from "@taskmesh/auth";
import { ForbiddenError } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTaskApi, sidecarTransport } from "../../services/mcp-server/src/data/task-api.client.ts";
import { ok, startMcpHarness, taskApiSidecar, type McpHarness } from "./harness.ts";
import type { TestUser } from "../support/task-api.ts";

let h: McpHarness;
let user: TestUser;
/** The scope mcp-server handed to its task-api transport, per call of taskApiFor. */
const scopes: TokenScope[] = [];
beforeAll(async () => {
  h = await startMcpHarness({
    // main.ts's wiring, recording what mcp-server passes for each request.
    taskApiFor: (userId, scope) => {
      scopes.push(scope);
      return sidecarTransport(taskApiSidecar(h.apiUrl), "task-api", userId, scope);
    },
  });
  user = await h.signUp();
});
afterAll(async () => {
  await h.close();
});

describe("the user's token scope through mcp-server", () => {
  it("when a client uses a read-only token, then mcp-server calls task-api with scope read; with a read-write token, read-write", async () => {
    scopes.length = 0;
    const read = await h.client((await h.personalAccessToken(user, "read")).token);
    await ok(read, "list_tasks", {});
    // One McpServer per JSON-RPC request (initialize, initialized, tools/call): each got "read".
    expect(scopes.length).toBeGreaterThan(0);
    expect(new Set(scopes)).toEqual(new Set(["read"]));

    scopes.length = 0;
    const readWrite = await h.client((await h.personalAccessToken(user, "read-write")).token);
    await ok(readWrite, "list_tasks", {});
    expect(new Set(scopes)).toEqual(new Set(["read-write"]));
  });

  it("when mcp-server's task-api client writes with a read-only user's scope, then task-api itself refuses with 403 insufficient_scope and nothing is written", async () => {
    const taskApi = createTaskApi(sidecarTransport(taskApiSidecar(h.apiUrl), "task-api", user.id, "read"));

    expect((await taskApi.listTasks(new URLSearchParams())).data).toBeInstanceOf(Array);
    await expect(taskApi.createTask({ title: "written with a read-only token" })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(taskApi.createList("read-only list")).rejects.toThrow(/read-only/);
    expect(await h.api.prisma.task.count({ where: { userId: user.id } })).toBe(0);
  });

  it("when a tool call's own headers name another scope, then the transport's scope wins", async () => {
    const sent: Record<string, string>[] = [];
    const transport = sidecarTransport(
      {
        invoke: (_appId, _method, request) => {
          sent.push(request?.headers ?? {});
          return Promise.resolve(new Response("{}", { status: 200 }));
        },
      },
      "task-api",
      user.id,
      "read",
    );
    await transport({
      method: "POST",
      path: "v1/tasks",
      body: {},
      headers: { "x-taskmesh-scope": "read-write", "x-taskmesh-user-id": "someone-else" },
    });
    expect(sent[0]).toMatchObject({ "x-taskmesh-scope": "read", "x-taskmesh-user-id": user.id });
  });
});
