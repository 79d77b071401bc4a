/**
 * Calling tools from tests, shared by the in-process harness (harness.ts) and the stack tests
 * (support.ts): the result, its text, its structured content, or its error text; and a raw
 * JSON-RPC POST.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { expect } from "vitest";

/** Calls a tool; protocol errors reject. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
}

/** The structured content of a successful call; fails the test with the text otherwise. */
export async function ok<T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<T> {
  const result = await call(client, name, args);
  expect(result.isError ?? false, textOf(result)).toBe(false);
  return result.structuredContent as T;
}

/** An isError result's text, failing the test if the call succeeded. */
export async function failed(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const result = await call(client, name, args);
  expect(result.isError, textOf(result)).toBe(true);
  return textOf(result);
}

/** A raw JSON-RPC POST to an MCP endpoint (for HTTP-level checks), with these headers on top. */
export function postMcp(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The fields of a task that tools return. */
export interface Task {
  id: string;
  title: string;
  description: string | null;
  completed: boolean;
  priority: string;
  tags: string[];
  listId: string | null;
  parentId: string | null;
  dueAt: string | null;
  allDay: boolean;
  dueDate: string | null;
  recurrence: string | null;
  remindAt: string | null;
  version: number;
}

/** What the batch tools (add_tasks, complete_tasks, update_tasks) return. */
export interface BatchResult {
  succeeded: number;
  failed: number;
  items: {
    index: number;
    ok: boolean;
    result?: Task;
    error?: { code: string; message: string; hint: string };
  }[];
}
