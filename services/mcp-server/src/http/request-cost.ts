import { viewCalls } from "../mcp/task-views.ts";
import { PROMPT_VIEWS } from "../prompts/task.prompts.ts";
import { TASK_RESOURCES } from "../resources/task.resources.ts";
import { TOOLS } from "../tools/index.ts";

const TOOL_CALLS = new Map(TOOLS.map((tool) => [tool.name, tool.taskApiCalls ?? (() => 1)]));
const RESOURCE_CALLS = new Map(TASK_RESOURCES.map((r) => [r.uri, viewCalls(r.view)]));
const PROMPT_CALLS = new Map(
  Object.entries(PROMPT_VIEWS).map(([name, views]) => [
    name,
    views.reduce((sum: number, view) => sum + viewCalls(view), 0),
  ]),
);

/**
 * What one JSON-RPC message costs against the user's limit: the task-api calls it makes, so an
 * agent gets no more out of task-api than a REST client with the same limit. A tool call costs
 * its calls (a batch tool one per item), resources/read and prompts/get the views they read;
 * messages that reach no task-api (initialize, the lists, notifications) cost nothing. Unknown
 * tools, resources and prompts cost one, as a refused REST request counts too.
 */
export function taskApiCallsOf(message: unknown): number {
  if (typeof message !== "object" || message === null) return 0;
  const m = message as { method?: unknown; params?: unknown };
  const params = (typeof m.params === "object" && m.params !== null ? m.params : {}) as {
    name?: unknown;
    uri?: unknown;
    arguments?: unknown;
  };
  switch (m.method) {
    case "tools/call":
      return typeof params.name === "string" ? (TOOL_CALLS.get(params.name)?.(params.arguments) ?? 1) : 1;
    case "resources/read":
      return typeof params.uri === "string" ? (RESOURCE_CALLS.get(params.uri) ?? 1) : 1;
    case "prompts/get":
      return typeof params.name === "string" ? (PROMPT_CALLS.get(params.name) ?? 1) : 1;
    default:
      return 0;
  }
}
