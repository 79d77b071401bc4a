import { taskStateTool } from "./task-state.ts";

export const reopenTaskTool = taskStateTool({
  name: "reopen_task",
  title: "Reopen a task",
  description: "Marks a completed task open again.",
  done: "Reopened",
  call: (taskApi, id, version) => taskApi.reopenTask(id, version),
});
