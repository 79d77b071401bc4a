import type { Task, TaskList } from "../data/task-api.client.ts";
import type { NewTaskInput, TaskChanges, TaskOutput } from "./task.schemas.ts";

/** The fields of a task in list results. */
export function compactTask(task: Task) {
  return {
    id: task.id,
    title: task.title,
    completed: task.completed,
    priority: task.priority,
    dueAt: task.dueAt,
    dueDate: task.dueDate,
    tags: task.tags,
    listId: task.listId,
    version: task.version,
    recurring: task.recurrence !== null,
  };
}

/** Exactly task-api's Task fields: the contract's, which the client parsed the answer with. */
export function fullTask(task: Task): TaskOutput {
  return { ...task };
}

export function listView(list: TaskList) {
  return { id: list.id, name: list.name, openTaskCount: list.openTaskCount, version: list.version };
}

/** A one-line description for the text summary (ids only: user text stays inside the data block). */
export function taskLine(task: Task): string {
  const state = task.completed ? "completed" : "open";
  const due = task.dueDate ?? task.dueAt;
  return `task ${task.id} (${state}${due ? `, due ${due}` : ""}, version ${task.version})`;
}

/** The body task-api expects: only the fields the model gave; a date-only dueAt makes an all-day task. */
export function toTaskBody(input: NewTaskInput | TaskChanges): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input) as [string, unknown][])
    if (value !== undefined) body[key] = value;
  if (
    typeof input.dueAt === "string" &&
    /^\d{4}-\d{2}-\d{2}$/.test(input.dueAt) &&
    input.allDay === undefined
  ) {
    body.allDay = true;
  }
  return body;
}
