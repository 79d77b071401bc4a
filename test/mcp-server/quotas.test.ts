/**
 * task-api's per-user quotas as an agent meets them, through a real MCP client: the refusal
 * names the quota and says not to retry, and in a batch only the items past the quota fail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failed, ok, startMcpHarness, type BatchResult, type McpHarness } from "./harness.ts";

let h: McpHarness;
beforeAll(async () => {
  h = await startMcpHarness({}, { taskApi: { quotas: { tasks: 3, lists: 1, tags: 500, tokens: 50 } } });
});
afterAll(async () => {
  await h.close();
});

async function agent() {
  const user = await h.signUp();
  const { token } = await h.personalAccessToken(user, "read-write");
  return { client: await h.client(token), userId: user.id };
}

describe("quotas through MCP", () => {
  it("when add_tasks goes past the task quota, then the items that fit are created and the rest report quota-exceeded with a do-not-retry hint", async () => {
    const { client, userId } = await agent();
    const result = await ok<BatchResult>(client, "add_tasks", {
      tasks: [1, 2, 3, 4, 5].map((i) => ({ title: `t${i}` })),
    });
    expect(result.succeeded).toBe(3);
    expect(result.failed).toBe(2);
    const refusals = result.items.filter((i) => !i.ok);
    for (const item of refusals) {
      expect(item.error).toMatchObject({ code: "quota-exceeded" });
      expect(item.error?.message).toMatch(/limit of 3 tasks/);
      expect(item.error?.hint).toMatch(/Do not retry/);
    }
    expect(await h.api.prisma.task.count({ where: { userId } })).toBe(3);
  });

  it("when add_list is past the list quota, then isError names the quota", async () => {
    const { client } = await agent();
    await ok(client, "add_list", { name: "one" });
    const text = await failed(client, "add_list", { name: "two" });
    expect(text).toMatch(/^Error \(quota-exceeded\): You have reached the limit of 1 lists/);
    expect(text).toMatch(/Do not retry/);
  });
});
