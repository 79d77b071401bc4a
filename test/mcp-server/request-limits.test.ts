/**
 * The per-user limit counts what a request costs task-api, through a real MCP client: each item
 * of a batch tool, resources/read and prompts/get (the REST calls each makes), so an agent gets
 * no more out of task-api than a REST client.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sidecarTransport, type TaskApiCall } from "../../services/mcp-server/src/data/task-api.client.ts";
import { taskApiCallsOf } from "../../services/mcp-server/src/http/request-cost.ts";
import { ok, startMcpHarness, taskApiSidecar, type McpHarness } from "./harness.ts";

/** Burst 10, refilled at one a minute: a test sees the burst only. */
const BURST = 10;

let h: McpHarness;
/** task-api calls the mcp-server made, by user. */
const callsByUser = new Map<string, TaskApiCall[]>();
beforeAll(async () => {
  h = await startMcpHarness({
    config: { TOOL_CALLS_PER_MINUTE: 1, TOOL_CALL_BURST: BURST },
    // The real sidecar transport, with every call it sends recorded.
    taskApiFor: (userId, scope) => {
      const send = sidecarTransport(taskApiSidecar(h.apiUrl), "task-api", userId, scope);
      return (call) => {
        callsByUser.set(userId, [...(callsByUser.get(userId) ?? []), call]);
        return send(call);
      };
    },
  });
});
afterAll(async () => {
  await h.close();
});

async function agent(): Promise<{ client: Client; userId: string; token: string }> {
  const user = await h.signUp();
  const { token } = await h.personalAccessToken(user, "read-write");
  return { client: await h.client(token), userId: user.id, token };
}

/** The HTTP status a refused request got (the SDK client throws StreamableHTTPError). */
async function refusedStatus(promise: Promise<unknown>): Promise<number> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the request was not refused").toBeInstanceOf(Error);
  return (error as { code?: number }).code ?? -1;
}

const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `item ${i}` }));

describe("batch tools count per item", () => {
  it("when add_tasks creates 8 tasks, then 8 are counted: a following batch of 3 is 429, a single call still passes", async () => {
    const { client, userId } = await agent();
    await ok(client, "add_tasks", { tasks: tasks(8) });

    expect(await refusedStatus(client.callTool({ name: "add_tasks", arguments: { tasks: tasks(3) } }))).toBe(
      429,
    );
    expect(
      await refusedStatus(
        client.callTool({
          name: "complete_tasks",
          arguments: { tasks: tasks(3).map(() => ({ id: crypto.randomUUID() })) },
        }),
      ),
    ).toBe(429);
    await ok(client, "list_tags", {});
    // What was counted is what task-api was asked: 8 creates and one list.
    expect(callsByUser.get(userId)?.length).toBe(9);
  });

  it("when one batch tool call holds more items than the burst, then 400 and nothing is created", async () => {
    const { client, userId } = await agent();
    expect(
      await refusedStatus(client.callTool({ name: "add_tasks", arguments: { tasks: tasks(BURST + 1) } })),
    ).toBe(400);
    expect(callsByUser.get(userId)).toBeUndefined();
    expect(await h.api.prisma.task.count({ where: { userId } })).toBe(0);
  });

  it("when a JSON-RPC batch holds several batch tool calls, then their items add up", async () => {
    const { token, userId } = await agent();
    const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const answers: JSONRPCMessage[] = [];
    transport.onmessage = (m) => answers.push(m);
    await transport.start();
    transport.setProtocolVersion("2025-11-25");
    const batch = (id: number, n: number): JSONRPCMessage => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "add_tasks", arguments: { tasks: tasks(n) } },
    });
    // 6 + 5 items in one POST: more than the burst of 10.
    const error = await transport.send([batch(1, 6), batch(2, 5)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as { code?: number } | undefined)?.code).toBe(400);
    await transport.send([batch(3, 6), batch(4, 4)]);
    expect(answers.map((a) => ("id" in a ? a.id : undefined)).sort()).toEqual([3, 4]);
    await transport.close();
    expect(await h.api.prisma.task.count({ where: { userId } })).toBe(10);
  });
});

describe("resources and prompts count the task-api calls they make", () => {
  it("when an agent reads resources and prompts, then each counts what it asked task-api, and past the burst it is 429", async () => {
    const { client, userId } = await agent();
    await client.getPrompt({ name: "weekly_review", arguments: {} }); // 4: me + 3 lists
    await client.getPrompt({ name: "daily_plan", arguments: {} }); // 3: me + 2 lists
    await client.readResource({ uri: "taskmesh://tasks/today" }); // 2: me + list
    expect(callsByUser.get(userId)?.length).toBe(9);
    // The costs the limiter charges are exactly those calls.
    const costs = [
      { method: "prompts/get", params: { name: "weekly_review" } },
      { method: "prompts/get", params: { name: "daily_plan" } },
      { method: "resources/read", params: { uri: "taskmesh://tasks/today" } },
    ].map((m) => taskApiCallsOf({ jsonrpc: "2.0", id: 1, ...m }));
    expect(costs).toEqual([4, 3, 2]);

    await client.readResource({ uri: "taskmesh://tasks/overdue" }); // the 10th
    expect(await refusedStatus(client.readResource({ uri: "taskmesh://tasks/open" }))).toBe(429);
    expect(await refusedStatus(client.getPrompt({ name: "daily_plan", arguments: {} }))).toBe(429);
    // Listing costs task-api nothing and is not counted.
    await client.listResources();
    await client.listPrompts();
    await client.listTools();
    expect(callsByUser.get(userId)?.length).toBe(BURST);
  });
});
