/**
 * The stdio server (dist/stdio.js, as `npx taskmesh-mcp` runs it) with a personal access token,
 * talking to task-api's REST API of a running stack; and resources and prompts over both
 * transports. Resource subscriptions exist over stdio only (the process outlives a request).
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { useStack, type TestStack } from "../support/stack.ts";
import {
  call,
  clientsClosedAfterAll,
  httpClient,
  MCP_STACK_ENV,
  ok,
  personalAccessToken,
  signUp,
  stdioClient,
  taskApiCall,
  textOf,
  type McpUser,
} from "../mcp-server/support.ts";

/** The user's calendar date `days` from today in Europe/Berlin (the test users' zone). */
function berlinDate(days: number): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function viewOf(text: string): { tasks: { id: string; title: string }[]; truncated: boolean } {
  const json = /<taskmesh-data[^>]*>\n([\s\S]*)\n<\/taskmesh-data>/.exec(text)?.[1];
  if (json === undefined) throw new Error(`no data block in ${text}`);
  return JSON.parse(json) as { tasks: { id: string; title: string }[]; truncated: boolean };
}

describe("mcp-server over stdio, resources and prompts, through the real stack", () => {
  const stack = useStack({ apps: ["task-api", "audit-log", "mcp-server"], env: MCP_STACK_ENV });
  let s: TestStack;
  let user: McpUser;
  let stdio: Client;
  let http: Client;
  let token: string;
  const clients = clientsClosedAfterAll();

  beforeAll(async () => {
    s = stack();
    user = await signUp(s);
    token = (await personalAccessToken(s, user, "read-write")).token;
    stdio = await stdioClient(s, token, { TASKMESH_POLL_MS: "1000" });
    http = await httpClient(s, token);
    clients.push(stdio, http);
  });

  it("when a desktop client uses the stdio server, then the same tools work with the user's token", async () => {
    expect(stdio.getServerVersion()?.name).toBe("taskmesh");
    expect((await stdio.listTools()).tools).toHaveLength(14);
    const task = (
      await ok<{ task: { id: string } }>(stdio, "add_task", { title: "from the desktop", priority: "low" })
    ).task;
    expect((await ok<{ task: { title: string } }>(http, "get_task", { id: task.id })).task.title).toBe(
      "from the desktop",
    );
    expect(
      (await ok<{ task: { completed: boolean } }>(stdio, "complete_task", { id: task.id })).task.completed,
    ).toBe(true);
    const missing = await call(stdio, "get_task", { id: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f" });
    expect(missing.isError).toBe(true);
  });

  it("when the stdio server has a read-only token, then writing tools answer isError (task-api refuses) and reading works", async () => {
    const readOnly = await stdioClient(s, (await personalAccessToken(s, user, "read")).token);
    clients.push(readOnly);
    await ok(readOnly, "list_tasks", {});
    const denied = await call(readOnly, "add_task", { title: "not allowed" });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/forbidden[\s\S]*read-only/);
  });

  it("when a client reads the open, today and overdue resources, then each holds the matching tasks as delimited data", async () => {
    const today = (
      await ok<{ task: { id: string } }>(http, "add_task", { title: "due today", dueAt: berlinDate(0) })
    ).task;
    const late = (
      await ok<{ task: { id: string } }>(http, "add_task", {
        title: "was due yesterday",
        dueAt: berlinDate(-1),
      })
    ).task;
    const later = (
      await ok<{ task: { id: string } }>(http, "add_task", { title: "next week", dueAt: berlinDate(7) })
    ).task;

    for (const client of [http, stdio]) {
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri).sort()).toEqual([
        "taskmesh://tasks/open",
        "taskmesh://tasks/overdue",
        "taskmesh://tasks/today",
      ]);
      const read = async (uri: string) => {
        const content = (await client.readResource({ uri })).contents[0];
        return viewOf(content && "text" in content ? content.text : "");
      };
      const open = (await read("taskmesh://tasks/open")).tasks.map((t) => t.id);
      expect(open).toEqual(expect.arrayContaining([today.id, late.id, later.id]));
      expect((await read("taskmesh://tasks/today")).tasks.map((t) => t.id)).toEqual([today.id]);
      expect((await read("taskmesh://tasks/overdue")).tasks.map((t) => t.id)).toEqual([late.id]);
    }
  });

  it("when a client gets the daily plan and weekly review prompts, then they carry the user's tasks as data", async () => {
    const { prompts } = await http.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(["daily_plan", "weekly_review"]);
    const daily = await http.getPrompt({ name: "daily_plan", arguments: { focus: "writing" } });
    const dailyText = daily.messages.map((m) => (m.content.type === "text" ? m.content.text : "")).join("\n");
    expect(dailyText).toContain("My focus today: writing");
    expect(dailyText).toContain("due today");
    expect(dailyText).toContain("was due yesterday");
    expect(dailyText).toMatch(/<taskmesh-data note=/);
    const weekly = await stdio.getPrompt({ name: "weekly_review" });
    const weeklyText = weekly.messages
      .map((m) => (m.content.type === "text" ? m.content.text : ""))
      .join("\n");
    expect(weeklyText).toContain("from the desktop");
    expect(weeklyText).toContain("next week");
  });

  it("when a stdio client subscribes to open tasks and a task is added elsewhere, then it is told the resource changed", async () => {
    expect(stdio.getServerCapabilities()?.resources?.subscribe).toBe(true);
    expect(http.getServerCapabilities()?.resources?.subscribe).toBeFalsy();
    const updates: string[] = [];
    stdio.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
    });
    await stdio.subscribeResource({ uri: "taskmesh://tasks/open" });
    // Let the subscription take its first snapshot before the change.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const created = await taskApiCall(s, token, "POST", "/v1/tasks", { title: "added through the REST API" });
    expect(created.status).toBe(201);
    await waitUntil(
      "a resources/updated notification",
      () => Promise.resolve(updates.includes("taskmesh://tasks/open") ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    await stdio.unsubscribeResource({ uri: "taskmesh://tasks/open" });
  });
});
