import { taskStateTool } from "./task-state.ts";

export const completeTaskTool = taskStateTool({
  name: "complete_task",
  title: "Complete a task",
  description:
    "Marks a task completed. Completing a recurring task makes taskmesh create its next occurrence shortly after.",
  done: "Completed",
  call: (taskApi, id, version) => taskApi.completeTask(id, version),
});
