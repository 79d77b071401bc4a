import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { cursor, listOutput, pageMeta } from "../mcp/task.schemas.ts";
import { listView } from "../mcp/task.view.ts";
import { defineTool, READ_ONLY, toolArgs } from "./tool.ts";

export const listListsTool = defineTool({
  name: "list_lists",
  title: "List task lists",
  description:
    "Lists the user's task lists (id, name, open task count). Use a list's id as listId in other tools.",
  input: toolArgs({ limit: z.number().int().min(1).max(100).default(50), cursor: cursor.optional() }),
  output: z.object({ lists: z.array(listOutput), ...pageMeta }),
  annotations: READ_ONLY,
  async run({ limit, cursor: after }, { taskApi }) {
    const page = await taskApi.listLists(after, limit);
    const more = page.nextCursor ? " More exist: call again with cursor = nextCursor." : "";
    return success(`${page.data.length} list(s).${more}`, {
      lists: page.data.map(listView),
      nextCursor: page.nextCursor,
    });
  },
});
