import { randomUUID } from "node:crypto";
import { EVENT_TYPES, exampleEvents, type TaskEvent } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snapshot, startAuditLog, taskEvent, type TestAuditLog } from "./audit-log.ts";

let audit: TestAuditLog;
beforeAll(async () => {
  audit = await startAuditLog();
});
afterAll(async () => {
  await audit.close();
});

async function entriesOf(taskId: string) {
  return audit.prisma.auditEntry.findMany({ where: { taskId }, orderBy: { sequence: "asc" } });
}

type FiveEvents = [TaskEvent, TaskEvent, TaskEvent, TaskEvent, TaskEvent];

/** One task's whole life, as task-api's outbox would publish it. */
function lifeOfATask(): { userId: string; taskId: string; events: FiveEvents } {
  const userId = randomUUID();
  const taskId = randomUUID();
  const v1 = snapshot({ id: taskId, userId });
  const v2 = { ...v1, priority: "high" as const, title: "Water all the plants", version: 2 };
  const completedAt = "2026-11-21T17:05:00.000Z";
  const v3 = { ...v2, completed: true, completedAt, version: 3 };
  const v4 = { ...v3, completed: false, completedAt: null, version: 4 };
  const events: FiveEvents = [
    taskEvent(EVENT_TYPES.taskCreated, { task: v1 }),
    taskEvent(EVENT_TYPES.taskUpdated, {
      task: v2,
      changes: {
        priority: { from: "medium", to: "high" },
        title: { from: "Water the plants", to: "Water all the plants" },
      },
    }),
    taskEvent(EVENT_TYPES.taskCompleted, {
      task: v3,
      changes: { completed: { from: false, to: true }, completedAt: { from: null, to: completedAt } },
      actor: { kind: "service", id: "mcp-server" },
    }),
    taskEvent(EVENT_TYPES.taskReopened, {
      task: v4,
      changes: { completed: { from: true, to: false }, completedAt: { from: completedAt, to: null } },
    }),
    taskEvent(EVENT_TYPES.taskDeleted, { task: v4 }),
  ];
  return { userId, taskId, events };
}

describe("POST /events/task-events", () => {
  it("when each task event type is delivered, then each is recorded with who, when, what changed and the task", async () => {
    const { userId, taskId, events } = lifeOfATask();
    for (const event of events) expect(await audit.deliver(event)).toBe("SUCCESS");

    const entries = await entriesOf(taskId);
    expect(entries.map((e) => [e.type, e.sequence])).toEqual([
      [EVENT_TYPES.taskCreated, 1],
      [EVENT_TYPES.taskUpdated, 2],
      [EVENT_TYPES.taskCompleted, 3],
      [EVENT_TYPES.taskReopened, 4],
      [EVENT_TYPES.taskDeleted, 5],
    ]);
    events.forEach((event, i) => {
      const entry = entries[i];
      expect(entry).toMatchObject({
        eventId: event.id,
        taskId,
        userId,
        actor: event.data.actor,
        changes: event.data.changes,
        task: event.data.task,
      });
      expect(entry?.occurredAt.toISOString()).toBe(event.data.occurredAt);
    });
    expect(entries[1]?.changes).toEqual({
      priority: { from: "medium", to: "high" },
      title: { from: "Water the plants", to: "Water all the plants" },
    });
    expect(entries[2]?.actor).toEqual({ kind: "service", id: "mcp-server" });
    expect(entries[4]?.task).toMatchObject({ id: taskId, version: 4 });
  });

  it("when the contract's example events arrive in one bulk delivery, then all five task events are recorded", async () => {
    const examples = exampleEvents();
    const events = [
      EVENT_TYPES.taskCreated,
      EVENT_TYPES.taskUpdated,
      EVENT_TYPES.taskCompleted,
      EVENT_TYPES.taskReopened,
      EVENT_TYPES.taskDeleted,
    ].map((type) => ({ ...examples[type], id: randomUUID() }));
    expect(await audit.deliverBulk(events)).toEqual({
      "0": "SUCCESS",
      "1": "SUCCESS",
      "2": "SUCCESS",
      "3": "SUCCESS",
      "4": "SUCCESS",
    });
    // The examples are one task's life; no other test in this file uses its id.
    const entries = await entriesOf(examples[EVENT_TYPES.taskCreated].data.taskId);
    expect(entries.map((e) => e.eventId)).toEqual(events.map((e) => e.id));
  });

  it("when an event is delivered again, then it is acknowledged, recorded once, and counted as a duplicate", async () => {
    const { taskId, events } = lifeOfATask();
    const [created, updated] = events;
    const duplicatesBefore = await audit.counter("audit_log_duplicate_events_suppressed_total");

    expect(await audit.deliver(created)).toBe("SUCCESS");
    expect(await audit.deliver(created)).toBe("SUCCESS");
    // A bulk redelivery mixing new and seen events, one of them twice in the same batch.
    expect(await audit.deliverBulk([created, updated, updated])).toEqual({
      "0": "SUCCESS",
      "1": "SUCCESS",
      "2": "SUCCESS",
    });
    // Concurrent deliveries of one event (two replicas, or a redelivery racing the first try).
    const third = events[2];
    expect(await Promise.all([1, 2, 3, 4].map(() => audit.deliver(third)))).toEqual(Array(4).fill("SUCCESS"));

    expect((await entriesOf(taskId)).map((e) => e.sequence)).toEqual([1, 2, 3]);
    // created x2 after the first, updated x1 in the batch, third x3 after the winner.
    expect((await audit.counter("audit_log_duplicate_events_suppressed_total")) - duplicatesBefore).toBe(6);
  });

  it("when the same event id comes back with other content, then the first recording stands", async () => {
    const { taskId, events } = lifeOfATask();
    const created = events[0];
    await audit.deliver(created);
    const forged = { ...created, data: { ...created.data, task: { ...created.data.task, title: "Forged" } } };
    expect(await audit.deliver(forged)).toBe("SUCCESS");
    const [entry] = await entriesOf(taskId);
    expect(entry?.task).toMatchObject({ title: "Water the plants" });
  });

  it("when a message is not a valid task event, then it is dropped and nothing is recorded", async () => {
    const { taskId, events } = lifeOfATask();
    const created = events[0];
    const poison: unknown[] = [
      { hello: "world" },
      { ...created, specversion: "0.3" },
      // A known type this subscriber does not take.
      { ...exampleEvents()[EVENT_TYPES.reminderDue], id: randomUUID() },
      { ...created, type: "dev.taskmesh.task.archived.v1" },
      // Breaks the contract: sequence must be the task's version.
      { ...created, data: { ...created.data, sequence: 7 } },
      { ...created, data: { ...created.data, actor: { kind: "robot", id: "x" } } },
      // Valid by the contract, but the history is keyed by the outbox's UUIDs.
      { ...created, id: "not-a-uuid" },
    ];
    for (const message of poison) expect(await audit.deliver(message), JSON.stringify(message)).toBe("DROP");
    expect(await entriesOf(taskId)).toEqual([]);
  });

  it("when one event of a bulk delivery is invalid or refused by the database, then only it is dropped", async () => {
    const { taskId, events } = lifeOfATask();
    const [created, updated] = events;
    const huge = snapshot({ id: taskId, userId: created.data.userId, version: 2 ** 31 - 1 });
    // Valid by the contract (the version is any integer), but the sequence overflows the column.
    const overflowing = taskEvent(EVENT_TYPES.taskDeleted, { task: huge });
    // JSON strings may hold U+0000, Postgres' jsonb may not.
    const nul = taskEvent(EVENT_TYPES.taskUpdated, {
      task: { ...snapshot({ id: taskId, userId: created.data.userId, version: 9 }), title: "a\u0000b" },
      changes: { title: { from: "a", to: "a\u0000b" } },
    });
    const rejectedBefore = await audit.counter("audit_log_events_rejected_total");

    expect(await audit.deliverBulk([created, { nope: true }, overflowing, updated, nul])).toEqual({
      "0": "SUCCESS",
      "1": "DROP",
      "2": "DROP",
      "3": "SUCCESS",
      "4": "DROP",
    });
    expect((await entriesOf(taskId)).map((e) => e.eventId)).toEqual([created.id, updated.id]);
    expect((await audit.counter("audit_log_events_rejected_total")) - rejectedBefore).toBe(2);
  });

  it("when entries are recorded, then they are counted by type in /metrics", async () => {
    const { events } = lifeOfATask();
    await audit.deliverBulk(events);
    const res = await audit.opsRequest.get("/metrics").expect(200);
    expect(res.text).toMatch(
      /audit_log_entries_recorded_total\{type="dev\.taskmesh\.task\.reopened\.v1",service="audit-log"\} \d+/,
    );
    expect(res.text).toContain("audit_log_duplicate_events_suppressed_total");
  });

  it("when a body is not a delivery at all, then it is dropped as a whole", async () => {
    const res = await audit.request
      .post("/events/task-events")
      .set("dapr-api-token", "audit-log-test-app-token")
      .set("content-type", "application/json")
      .send({ entries: [{ no: "entry id" }] })
      .expect(200);
    expect(res.body).toEqual({ statuses: [] });
  });
});

describe("POST /events/task-events while the database is down", () => {
  let down: TestAuditLog;
  beforeAll(async () => {
    // A server that refuses connections: nothing listens on port 1.
    down = await startAuditLog({ databaseUrl: "postgresql://postgres@127.0.0.1:1/none" });
  });
  afterAll(async () => {
    await down.close();
  });

  it("when the database cannot be reached, then every event is answered RETRY", async () => {
    const { events } = lifeOfATask();
    expect(await down.deliver(events[0])).toBe("RETRY");
    expect(await down.deliverBulk(events.slice(0, 2))).toEqual({ "0": "RETRY", "1": "RETRY" });
  });

  it("when the database cannot be reached, then /readyz is 503 and /healthz 200", async () => {
    await down.request.get("/healthz").expect(200);
    const res = await down.request.get("/readyz").expect(503);
    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ checks: { database: "failed" } });
  });

  it("when the history is read, then it is 503 problem+json with Retry-After", async () => {
    const res = await down.request
      .get(`/internal/tasks/${randomUUID()}/history`)
      .query({ userId: randomUUID() })
      .set("dapr-api-token", "audit-log-test-app-token")
      .expect(503);
    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect(res.headers["retry-after"]).toBe("1");
  });
});
