import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { TaskApi } from "../data/task-api.client.ts";
import { readView, type ViewName } from "../mcp/task-views.ts";
import { userData } from "../mcp/tool-result.ts";

/** The resources: fixed views of the user's tasks, JSON, at most VIEW_LIMIT tasks each. */
export const TASK_RESOURCES: readonly {
  name: string;
  uri: string;
  view: ViewName;
  title: string;
  description: string;
}[] = [
  {
    name: "open-tasks",
    uri: "taskmesh://tasks/open",
    view: "open",
    title: "Open tasks",
    description: "The user's open tasks by due date (undated last), compact.",
  },
  {
    name: "today",
    uri: "taskmesh://tasks/today",
    view: "today",
    title: "Due today",
    description: "Open tasks due today in the user's time zone.",
  },
  {
    name: "overdue",
    uri: "taskmesh://tasks/overdue",
    view: "overdue",
    title: "Overdue",
    description: "Open tasks past their due time.",
  },
];

export const RESOURCE_URIS: ReadonlySet<string> = new Set(TASK_RESOURCES.map((r) => r.uri));

/** The text of a resource: the view as JSON inside the user-data delimiters. */
export async function resourceText(taskApi: TaskApi, view: ViewName): Promise<string> {
  return userData(await readView(taskApi, view));
}

export function registerTaskResources(server: McpServer, taskApi: TaskApi): void {
  for (const resource of TASK_RESOURCES) {
    server.registerResource(
      resource.name,
      resource.uri,
      { title: resource.title, description: resource.description, mimeType: "text/plain" },
      async (uri) => ({
        contents: [
          { uri: uri.href, mimeType: "text/plain", text: await resourceText(taskApi, resource.view) },
        ],
      }),
    );
  }
}
