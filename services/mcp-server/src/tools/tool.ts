import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { TaskApi } from "../data/task-api.client.ts";

/** What a tool runs with: task-api for the authenticated user. */
export interface ToolContext {
  taskApi: TaskApi;
}

/**
 * One MCP tool: its schemas, truthful annotations and handler. Handlers throw AppErrors for
 * domain failures; server.ts turns them into isError results.
 */
export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations & { readOnlyHint: boolean };
  /**
   * The task-api calls one call of this tool makes, from its raw arguments: what it costs
   * against the user's limit (http/request-cost.ts). Absent = one.
   */
  taskApiCalls?: (args: unknown) => number;
  run(args: z.infer<I>, ctx: ToolContext): Promise<CallToolResult>;
}

/** Keeps the handler's argument type tied to its schema. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O>,
): ToolDefinition<I, O> {
  return tool;
}

/**
 * A tool's arguments (or an object inside them): a name it does not know is an error that
 * lists the names it does. Stripped silently, a guessed name (`query` for `q`) would run the
 * call without it, e.g. an unfiltered list. tools/list shows `additionalProperties: false`.
 */
export function toolArgs<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== "unrecognized_keys") return undefined;
      // At the top an argument; inside one (changes, an item of tasks) a field, at its path.
      const noun = issue.path?.length ? "field" : "argument";
      const names = issue.keys.map((k) => JSON.stringify(k)).join(", ");
      const plural = issue.keys.length > 1 ? "s" : "";
      return `Unknown ${noun}${plural} ${names} (known ${noun}s: ${known})`;
    },
  });
}

/** Annotations of a tool that only reads. */
export const READ_ONLY = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;
