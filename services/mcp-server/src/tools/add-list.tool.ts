import { z } from "zod";
import { success } from "../mcp/tool-result.ts";
import { listOutput } from "../mcp/task.schemas.ts";
import { listView } from "../mcp/task.view.ts";
import { defineTool, toolArgs } from "./tool.ts";

export const addListTool = defineTool({
  name: "add_list",
  title: "Add a task list",
  description: "Creates a task list. Pass the same idempotencyKey when retrying so it is created only once.",
  input: toolArgs({
    name: z.string().min(1).max(100),
    idempotencyKey: z.string().min(1).max(200).optional(),
  }),
  output: z.object({ list: listOutput }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run({ name, idempotencyKey }, { taskApi }) {
    const list = await taskApi.createList(name, idempotencyKey);
    return success(`Created list ${list.id}.`, { list: listView(list) });
  },
});
