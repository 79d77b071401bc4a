import { randomUUID } from "node:crypto";
import { EVENT_TYPES, parseEvent, PUBSUB_NAME, TOPICS } from "@taskmesh/contracts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { reminderEventId } from "../../services/notifications/src/domain/reminder-due.ts";
import {
  APP_TOKEN,
  startNotifications,
  taskEvent,
  type NotificationsHarness,
} from "./notifications-harness.ts";

describe("the reminders cron tick", () => {
  let h: NotificationsHarness;
  const userId = randomUUID();
  beforeAll(async () => {
    h = await startNotifications({ reminderBatchSize: 5 });
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    // Each test sees only its own reminders fire.
    await h.tick();
    h.sidecar.published.length = 0;
    h.sidecar.failPublish = false;
    h.sidecar.publishDelayMs = 0;
  });

  const schedule = async (remindAt: Date, taskId = randomUUID()): Promise<string> => {
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1, remindAt: remindAt.toISOString() }),
    );
    return taskId;
  };

  it("when a reminder is due, then one tick publishes reminder.due once, keyed by the task, with an id derived from task and time", async () => {
    const remindAt = new Date(Date.now() - 5_000);
    const future = await schedule(new Date(Date.now() + 3_600_000));
    const taskId = await schedule(remindAt);

    expect(await h.tick()).toBe(1);
    expect(await h.tick()).toBe(0);

    expect(h.sidecar.published).toHaveLength(1);
    const [published] = h.sidecar.published;
    expect(published).toMatchObject({ pubsub: PUBSUB_NAME, topic: TOPICS.reminders, partitionKey: taskId });
    const parsed = parseEvent(published?.event, [EVENT_TYPES.reminderDue]);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.event.id).toBe(reminderEventId(taskId, remindAt));
    expect(parsed.event.data).toMatchObject({
      taskId,
      userId,
      remindAt: remindAt.toISOString(),
      title: "Call the dentist",
      dueAt: null,
    });
    expect(h.sidecar.published.some((p) => p.partitionKey === future)).toBe(false);
    const metrics = await h.opsRequest.get("/metrics").expect(200);
    expect(metrics.text).toMatch(/^notifications_reminders_fired_total\{[^}]*\} [1-9]/m);
    expect(metrics.text).toMatch(/^notifications_stream_connections\{[^}]*\} 0/m);
  });

  it("when publishing fails, then nothing is marked fired and the next tick publishes it", async () => {
    const taskId = await schedule(new Date(Date.now() - 1_000));
    h.sidecar.failPublish = true;
    const failed = await h.request.post("/cron/reminders").set("dapr-api-token", APP_TOKEN).expect(503);
    expect(failed.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const row = await h.pool.query("SELECT fired_at FROM reminders WHERE task_id = $1", [taskId]);
    expect(row.rows[0]).toEqual({ fired_at: null });

    h.sidecar.failPublish = false;
    expect(await h.tick()).toBe(1);
    expect(h.sidecar.published.map((p) => p.partitionKey)).toEqual([taskId]);
  });

  it("when two ticks run at once (two replicas), then every due reminder is published exactly once", async () => {
    const taskIds = await Promise.all(
      Array.from({ length: 12 }, (_, i) => schedule(new Date(Date.now() - 10_000 - i * 1000))),
    );
    // Publishing is slow, so each tick's transaction holds its claims while the other runs.
    h.sidecar.publishDelayMs = 30;
    const [a, b] = await Promise.all([h.tick(), h.tick()]);
    h.sidecar.publishDelayMs = 0;
    expect(a + b).toBe(12);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const keys = h.sidecar.published.map((p) => p.partitionKey);
    expect(new Set(keys).size).toBe(12);
    expect([...keys].sort()).toEqual([...taskIds].sort());
    expect(await h.tick()).toBe(0);
  });

  it("when more reminders are due than one batch, then one tick fires them all in remindAt order", async () => {
    const base = Date.now() - 60_000;
    const taskIds = [];
    for (let i = 0; i < 7; i++) taskIds.push(await schedule(new Date(base + i * 1000)));
    expect(await h.tick()).toBe(7);
    expect(h.sidecar.published.map((p) => p.partitionKey)).toEqual(taskIds);
  });
});
