/**
 * recurring-tasks through the real stack: task-api (outbox -> relay -> its daprd) -> Kafka ->
 * recurring-tasks' daprd -> recurring-tasks -> service invocation (mTLS, access control) ->
 * task-api's daprd -> POST /v1/tasks as the owner with the occurrence key. Every assertion
 * reads tasks back through task-api's REST API.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES, PUBSUB_NAME, TOPICS, type CloudEvent } from "@taskmesh/contracts";
import { createSidecarClient } from "@taskmesh/dapr";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { readTopicUntil } from "../support/kafka.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack, type TestStack } from "../support/stack.ts";

interface Task {
  id: string;
  title: string;
  completed: boolean;
  dueAt: string | null;
  allDay: boolean;
  recurrence: string | null;
  remindAt: string | null;
  priority: string;
  tags: string[];
  description: string | null;
  listId: string | null;
}

interface User {
  id: string;
  headers: Record<string, string>;
}

async function call(
  s: TestStack,
  user: User | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${s.urls["task-api"]}${path}`, {
    method,
    headers: {
      ...(user?.headers ?? {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function stackUser(s: TestStack, timeZone: string): Promise<User> {
  const { id, auth } = await signUpThroughTaskApi(s.urls["task-api"] ?? "", { timeZone });
  return { id, headers: { Authorization: auth.authorization } };
}

async function tasksTitled(s: TestStack, user: User, title: string): Promise<Task[]> {
  const res = await call(s, user, "GET", "/v1/tasks?status=all&limit=100");
  expect(res.status).toBe(200);
  return (res.body as { data: Task[] }).data.filter((t) => t.title === title);
}

async function createTask(s: TestStack, user: User, body: Record<string, unknown>): Promise<Task> {
  const res = await call(s, user, "POST", "/v1/tasks", body);
  expect(res.status).toBe(201);
  return res.body as Task;
}

/** A counter of recurring-tasks' /metrics by outcome. */
async function outcomes(s: TestStack, outcome: string): Promise<number> {
  const text = await (await fetch(`${s.opsUrls["recurring-tasks"]}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("recurring_tasks_events_total{") && l.includes(`outcome="${outcome}"`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

async function waitForOutcome(s: TestStack, outcome: string, atLeast: number): Promise<void> {
  await waitUntil(
    `recurring-tasks outcome ${outcome} >= ${atLeast}`,
    async () => ((await outcomes(s, outcome)) >= atLeast ? true : undefined),
    { timeoutMs: 90_000 },
  );
}

/** Waits until the task has exactly one successor (title match, open) and returns it. */
async function waitForNext(s: TestStack, user: User, title: string, completedId: string): Promise<Task> {
  let next: Task | undefined;
  await waitUntil(
    `the next occurrence of "${title}"`,
    async () => {
      const open = (await tasksTitled(s, user, title)).filter((t) => t.id !== completedId && !t.completed);
      next = open[0];
      return next ? true : undefined;
    },
    { timeoutMs: 90_000 },
  );
  if (!next) throw new Error("unreachable");
  return next;
}

describe("recurring-tasks through real sidecars and Kafka", () => {
  const stack = useStack({ apps: ["task-api", "recurring-tasks"] });

  it("when a daily task due before the spring DST change in Berlin is completed, then exactly one next task is created at the same local time, with the fields copied", async () => {
    const s = stack();
    const user = await stackUser(s, "Europe/Berlin");
    const title = `Water the plants ${randomUUID()}`;
    // Saturday 27 March 2027, 09:00 CET; the clocks go forward that night.
    const created = await createTask(s, user, {
      title,
      description: "the big ones too",
      priority: "high",
      tags: ["home"],
      dueAt: "2027-03-27T09:00:00+01:00",
      recurrence: "FREQ=DAILY;COUNT=3",
      remindAt: "2027-03-27T08:30:00+01:00",
    });
    const createdBefore = await outcomes(s, "created");
    expect((await call(s, user, "POST", `/v1/tasks/${created.id}/complete`)).status).toBe(200);

    const next = await waitForNext(s, user, title, created.id);
    expect(next).toMatchObject({
      // 09:00 CEST on Sunday 28 March.
      dueAt: "2027-03-28T07:00:00.000Z",
      remindAt: "2027-03-28T06:30:00.000Z",
      allDay: false,
      recurrence: "FREQ=DAILY;COUNT=2",
      description: "the big ones too",
      priority: "high",
      tags: ["home"],
      completed: false,
    });
    await waitForOutcome(s, "created", createdBefore + 1);
    expect(await tasksTitled(s, user, title)).toHaveLength(2);
  });

  it("when a completed task's rule has no next task in the owner's zone (fine in UTC), then recurring-tasks drops it at once and goes on handling other events", async () => {
    const s = stack();
    const user = await stackUser(s, "UTC");
    const title = `Every other hour ${randomUUID()}`;
    // Accepted in UTC (18:00 matches BYHOUR=18, and again every 24 hours); then the owner moves
    // to Berlin, where the series runs 19:00, 21:00, ... and never meets 18:00. rrule 2.8.1
    // spun forever on this, in every replica in turn on redelivery.
    const stuck = await createTask(s, user, {
      title,
      dueAt: "2026-12-01T18:00:00Z",
      recurrence: "FREQ=HOURLY;INTERVAL=2;BYHOUR=18",
    });
    expect((await call(s, user, "PATCH", "/v1/me", { timeZone: "Europe/Berlin" })).status).toBe(200);
    const refusedBefore = await outcomes(s, "refused");
    expect((await call(s, user, "POST", `/v1/tasks/${stuck.id}/complete`)).status).toBe(200);
    await waitForOutcome(s, "refused", refusedBefore + 1);
    expect(await tasksTitled(s, user, title)).toHaveLength(1);

    // The service is not blocked: it answers at once and creates the next task of another series.
    const started = performance.now();
    expect((await fetch(`${s.opsUrls["recurring-tasks"] ?? ""}/healthz`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    const daily = await createTask(s, user, {
      title: `${title} daily`,
      dueAt: "2026-12-01T09:00:00+01:00",
      recurrence: "FREQ=DAILY",
    });
    expect((await call(s, user, "POST", `/v1/tasks/${daily.id}/complete`)).status).toBe(200);
    expect(await waitForNext(s, user, `${title} daily`, daily.id)).toMatchObject({
      dueAt: "2026-12-02T08:00:00.000Z",
    });
  });

  it("when the same completed event is delivered twice, or the task is completed, reopened and completed again, then there is still exactly one next task", async () => {
    const s = stack();
    const user = await stackUser(s, "America/New_York");
    const title = `Take out the bins ${randomUUID()}`;
    // All-day Friday 5 November 2027; the US clocks go back on Sunday 7 November.
    const created = await createTask(s, user, {
      title,
      dueAt: "2027-11-05",
      recurrence: "FREQ=WEEKLY;BYDAY=FR",
    });
    expect((await call(s, user, "POST", `/v1/tasks/${created.id}/complete`)).status).toBe(200);
    const next = await waitForNext(s, user, title, created.id);
    // All-day Friday 12 November in New York starts at 05:00 UTC (EST).
    expect(next).toMatchObject({ dueAt: "2027-11-12T05:00:00.000Z", allDay: true });

    // The very completed event, as the broker holds it, published again through task-api's sidecar.
    const [completedEvent] = (
      await readTopicUntil(
        s.kafkaBrokers,
        TOPICS.taskEvents,
        (r) =>
          (r.json as CloudEvent<{ taskId: string }> | undefined)?.type === EVENT_TYPES.taskCompleted &&
          (r.json as CloudEvent<{ taskId: string }>).data.taskId === created.id,
      )
    ).slice(-1);
    if (!completedEvent) throw new Error("the completed event is not on the topic");
    const fastPathBefore = await outcomes(s, "already-handled");
    const sidecar = createSidecarClient({ baseUrl: s.daprUrls["task-api"] ?? "", apiToken: s.daprApiToken });
    await sidecar.publish(PUBSUB_NAME, TOPICS.taskEvents, completedEvent.json as CloudEvent<unknown>, {
      partitionKey: created.id,
    });
    await waitForOutcome(s, "already-handled", fastPathBefore + 1);
    expect(await tasksTitled(s, user, title)).toHaveLength(2);

    // A new completion of the same occurrence: a new event id, so the state store does not
    // know it; the occurrence key makes task-api return the existing task.
    const existingBefore = await outcomes(s, "existing");
    expect((await call(s, user, "POST", `/v1/tasks/${created.id}/reopen`)).status).toBe(200);
    expect((await call(s, user, "POST", `/v1/tasks/${created.id}/complete`)).status).toBe(200);
    await waitForOutcome(s, "existing", existingBefore + 1);
    const all = await tasksTitled(s, user, title);
    expect(all).toHaveLength(2);
    expect(all.find((t) => t.id !== created.id)?.id).toBe(next.id);
  });
});
