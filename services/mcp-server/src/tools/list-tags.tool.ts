import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { cursor, pageMeta, tagOutput } from "../mcp/task.schemas.ts";
import { defineTool, READ_ONLY, toolArgs } from "./tool.ts";

export const listTagsTool = defineTool({
  name: "list_tags",
  title: "List tags",
  description: "Lists the user's tags with their open task counts.",
  input: toolArgs({ limit: z.number().int().min(1).max(100).default(50), cursor: cursor.optional() }),
  output: z.object({ tags: z.array(tagOutput), ...pageMeta }),
  annotations: READ_ONLY,
  async run({ limit, cursor: after }, { taskApi }) {
    const page = await taskApi.listTags(after, limit);
    const tags = page.data.map((t) => ({ id: t.id, name: t.name, openTaskCount: t.openTaskCount }));
    const more = page.nextCursor ? " More exist: call again with cursor = nextCursor." : "";
    return success(`${tags.length} tag(s).${more}`, { tags, nextCursor: page.nextCursor });
  },
});
