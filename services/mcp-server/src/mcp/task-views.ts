import type { Task, TaskApi } from "../data/task-api.client.ts";
import { compactTask } from "./task.view.ts";

/** The most tasks one resource or prompt carries; the rest is reachable through list_tasks. */
export const VIEW_LIMIT = 100;

/** The user's calendar date (YYYY-MM-DD) `days` from today in their time zone. */
export function localDate(timeZone: string, now: Date, days = 0): string {
  const base = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(now);
  if (days === 0) return base;
  const shifted = new Date(`${base}T12:00:00Z`);
  shifted.setUTCDate(shifted.getUTCDate() + days);
  return shifted.toISOString().slice(0, 10);
}

export type ViewName = "open" | "today" | "overdue" | "due-this-week" | "recently-completed";

export interface TaskView {
  view: ViewName;
  /** Set for date-based views: the user's date the view was computed for. */
  date?: string;
  tasks: ReturnType<typeof compactTask>[];
  /** More tasks match than the view carries. */
  truncated: boolean;
}

/** The task-api calls readView makes for a view: the date-based ones ask for the user's time zone first. */
export function viewCalls(view: ViewName): number {
  return view === "today" || view === "due-this-week" ? 2 : 1;
}

/** Named, fixed queries over the user's tasks (resources and prompts). */
export async function readView(taskApi: TaskApi, view: ViewName, now: Date = new Date()): Promise<TaskView> {
  const query = new URLSearchParams({ limit: String(VIEW_LIMIT) });
  let date: string | undefined;
  if (view === "today" || view === "due-this-week") {
    const { timeZone } = await taskApi.me();
    date = localDate(timeZone, now);
    query.set("status", "open");
    query.set("dueAfter", date);
    // today: before tomorrow; the week: today and the seven days after it.
    query.set("dueBefore", localDate(timeZone, now, view === "today" ? 1 : 8));
  } else if (view === "overdue") {
    query.set("status", "open");
    query.set("overdue", "true");
  } else if (view === "recently-completed") {
    query.set("status", "completed");
    query.set("sort", "-updatedAt");
  } else {
    query.set("status", "open");
  }
  const page = await taskApi.listTasks(query);
  return {
    view,
    ...(date === undefined ? {} : { date }),
    tasks: page.data.map((t: Task) => compactTask(t)),
    truncated: page.nextCursor !== null,
  };
}
