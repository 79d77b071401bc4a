import { UnavailableError } from "@taskmesh/core";
import { EVENT_TYPES, exampleEvents, type TaskSnapshot } from "@taskmesh/contracts";
import type { ProcessedEvents } from "@taskmesh/dapr";
import { describe, expect, it } from "vitest";
import {
  createTaskApiClient,
  type NewTask,
} from "../../services/recurring-tasks/src/data/task-api.client.ts";
import {
  createScheduleNextOccurrence,
  occurrenceKeyOf,
} from "../../services/recurring-tasks/src/domain/schedule-next-occurrence.use-case.ts";

// Unit tests of the decisions, with task-api's answers behind the sidecar's interface (the
// real client turns them into outcomes) and the state store behind its interface.
// The real path (sidecars, broker, task-api) is test/stack/recurring.test.ts.

interface Created {
  userId: string;
  key: string;
  task: NewTask;
}

/** A client error task-api answers: its status and problem document. */
interface Refusal {
  status: number;
  problem: Record<string, unknown> | undefined;
}

const answer = (status: number, body: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json" },
  });

function fakeTaskApi(
  options: { timeZone?: string; refuseMe?: Refusal; refuseCreate?: Refusal; down?: boolean } = {},
) {
  const created = new Map<string, Created & { id: string }>();
  const calls: Created[] = [];
  const api = createTaskApiClient({
    appId: "task-api",
    sidecar: {
      invoke(_appId, method, request = {}) {
        if (options.down) return Promise.reject(new UnavailableError("task-api is down", 1));
        const headers = request.headers ?? {};
        const userId = headers["x-taskmesh-user-id"] ?? "";
        if (method === "v1/me") {
          if (options.refuseMe)
            return Promise.resolve(answer(options.refuseMe.status, options.refuseMe.problem));
          return Promise.resolve(Response.json({ timeZone: options.timeZone ?? "Europe/Berlin" }));
        }
        const key = headers["x-taskmesh-occurrence-key"] ?? "";
        const task = request.body as NewTask;
        calls.push({ userId, key, task });
        if (options.refuseCreate)
          return Promise.resolve(answer(options.refuseCreate.status, options.refuseCreate.problem));
        const existing = created.get(`${userId} ${key}`);
        if (existing) return Promise.resolve(Response.json({ id: existing.id }, { status: 200 }));
        // An id as task-api makes them (the client reads answers with the REST contract).
        const id = `01936f4e-8a3b-7c2d-9e1f-${String(created.size + 1).padStart(12, "0")}`;
        created.set(`${userId} ${key}`, { userId, key, task, id });
        return Promise.resolve(Response.json({ id }, { status: 201 }));
      },
    },
  });
  return { api, calls, created };
}

function memoryProcessed(): ProcessedEvents & { ids: Set<string> } {
  const ids = new Set<string>();
  return {
    ids,
    has: (id) => Promise.resolve(ids.has(id)),
    remember: (id) => {
      ids.add(id);
      return Promise.resolve();
    },
  };
}

const example = exampleEvents()[EVENT_TYPES.taskCompleted];

function completed(task: Partial<TaskSnapshot>, id = "event-1") {
  return { ...example, id, data: { ...example.data, task: { ...example.data.task, ...task } } };
}

describe("scheduleNextOccurrence", () => {
  it("when a recurring task is completed, then the next task is created as the owner with the occurrence key and the copied fields", async () => {
    const { api, calls } = fakeTaskApi({ timeZone: "Europe/Berlin" });
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    // Saturday 21 November 2026, 18:00 in Berlin; reminder 30 minutes before.
    const event = completed({
      dueAt: "2026-11-21T17:00:00.000Z",
      remindAt: "2026-11-21T16:30:00.000Z",
      recurrence: "FREQ=WEEKLY;BYDAY=SA",
      listId: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e60",
      description: "the big ones too",
    });
    expect(await schedule(event)).toMatchObject({
      status: "created",
      taskId: example.data.task.id,
      dueAt: "2026-11-28T17:00:00.000Z",
    });
    expect(calls).toEqual([
      {
        userId: example.data.userId,
        key: `${example.data.task.id}/2026-11-21T17:00:00.000Z`,
        task: {
          title: "Water the plants",
          description: "the big ones too",
          priority: "high",
          tags: ["home"],
          listId: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e60",
          dueAt: "2026-11-28T17:00:00.000Z",
          allDay: false,
          recurrence: "FREQ=WEEKLY;BYDAY=SA",
          remindAt: "2026-11-28T16:30:00.000Z",
        },
      },
    ]);
  });

  it("when an all-day task is completed, then the next one is sent as its local date", async () => {
    const { api, calls } = fakeTaskApi({ timeZone: "America/New_York" });
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    // All-day Friday 8 January 2027 in New York starts at 05:00 UTC.
    await schedule(
      completed({
        dueAt: "2027-01-08T05:00:00.000Z",
        allDay: true,
        remindAt: null,
        recurrence: "FREQ=DAILY",
      }),
    );
    expect(calls[0]?.task).toMatchObject({ dueAt: "2027-01-09", allDay: true, remindAt: null });
  });

  it("when the same event is handled twice, then the second is answered from the state store without calling task-api", async () => {
    const { api, calls } = fakeTaskApi();
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    expect((await schedule(completed({}))).status).toBe("created");
    expect((await schedule(completed({}))).status).toBe("already-handled");
    expect(calls).toHaveLength(1);
  });

  it("when a second completion of the same occurrence arrives (another event id), then task-api returns the existing task", async () => {
    const { api, created } = fakeTaskApi();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    const first = await schedule(completed({}, "event-1"));
    const second = await schedule(completed({}, "event-2"));
    expect(first).toMatchObject({ status: "created" });
    expect(second).toMatchObject({
      status: "existing",
      nextTaskId: first.status === "created" ? first.nextTaskId : "",
    });
    expect(created.size).toBe(1);
  });

  it("when the task was the last of its COUNT, then the series has ended and nothing is created", async () => {
    const { api, calls } = fakeTaskApi();
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    expect(await schedule(completed({ recurrence: "FREQ=DAILY;COUNT=1" }))).toMatchObject({
      status: "series-ended",
    });
    expect(calls).toHaveLength(0);
    expect(processed.ids.has("event-1")).toBe(true);
  });

  it("when the completed task is not recurring, then nothing is looked up or created", async () => {
    const { api, calls } = fakeTaskApi({ down: true });
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    expect(await schedule(completed({ recurrence: null }))).toEqual({ status: "not-recurring" });
    expect(calls).toHaveLength(0);
  });

  it("when task-api is unavailable, then the error propagates (the route answers RETRY) and the event is not marked", async () => {
    const { api } = fakeTaskApi({ down: true });
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    await expect(schedule(completed({}))).rejects.toBeInstanceOf(UnavailableError);
    expect(processed.ids.size).toBe(0);
  });

  it("when task-api refuses the owner (401), then refused (the route answers DROP) and the event is not marked", async () => {
    const { api } = fakeTaskApi({ refuseMe: { status: 401, problem: undefined } });
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    const outcome = await schedule(completed({}));
    expect(outcome.status).toBe("refused");
    expect(outcome.status === "refused" ? outcome.reason : "").toMatch(/answered 401/);
    expect(processed.ids.size).toBe(0);
  });

  it("when the owner's account is gone (task-api answers a trusted caller 404), then skipped and marked handled", async () => {
    const { api } = fakeTaskApi({ refuseMe: { status: 404, problem: undefined } });
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    expect(await schedule(completed({}))).toMatchObject({ status: "skipped" });
    expect(processed.ids.has("event-1")).toBe(true);
  });

  it("when task-api refuses the create because the list is gone, then skipped (the series went with its list)", async () => {
    const refusal: Refusal = {
      status: 422,
      problem: {
        type: "https://taskmesh.dev/problems/validation-failed",
        title: "Validation failed",
        status: 422,
        code: "validation-failed",
        errors: [{ pointer: "/listId", in: "body", detail: "does not name one of your lists" }],
      },
    };
    const { api } = fakeTaskApi({ refuseCreate: refusal });
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    expect(await schedule(completed({ listId: "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e60" }))).toMatchObject({
      status: "skipped",
    });
  });

  it("when task-api refuses the create for another reason, then refused", async () => {
    const refusal: Refusal = { status: 422, problem: undefined };
    const { api } = fakeTaskApi({ refuseCreate: refusal });
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    expect(await schedule(completed({}))).toMatchObject({ status: "refused" });
  });

  it("when the rule cannot be computed, then refused", async () => {
    const { api } = fakeTaskApi();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed: memoryProcessed() });
    expect(await schedule(completed({ recurrence: "FREQ=NEVER" }))).toMatchObject({ status: "refused" });
  });

  it("when the rule is fine in UTC but has no next task in the owner's zone, then refused promptly, nothing created and the event not marked", async () => {
    // Accepted while the owner lived in UTC (18:00 matches BYHOUR=18); in Berlin the series runs
    // 19:00, 21:00, ... and never meets 18:00 again. rrule 2.8.1 looped forever here.
    const { api, calls } = fakeTaskApi({ timeZone: "Europe/Berlin" });
    const processed = memoryProcessed();
    const schedule = createScheduleNextOccurrence({ taskApi: api, processed });
    const started = performance.now();
    const outcome = await schedule(
      completed({ dueAt: "2026-12-01T18:00:00.000Z", recurrence: "FREQ=HOURLY;INTERVAL=2;BYHOUR=18" }),
    );
    expect(performance.now() - started).toBeLessThan(500);
    expect(outcome).toMatchObject({
      status: "refused",
      reason: expect.stringMatching(/no occurrence within 10 years/) as unknown,
    });
    expect(calls).toEqual([]);
    expect(processed.ids.size).toBe(0);
  });

  it("when the occurrence key is made, then it is the task id and its dueAt in canonical ISO form", () => {
    expect(occurrenceKeyOf({ id: "abc", dueAt: "2027-01-01T09:00:00Z" })).toBe(
      "abc/2027-01-01T09:00:00.000Z",
    );
  });
});
