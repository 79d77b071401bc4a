/**
 * Reminders and the live stream through the real stack: a task created through task-api's API
 * travels outbox -> task-api's sidecar -> Kafka -> notifications' sidecar -> /events/task-events
 * (reminder scheduled, event on the stream); the cron binding's tick fires the reminder, which
 * is published to `reminders` through notifications' sidecar and consumed back into the user's
 * stream. notifications verifies the user's access token with task-api's keys, fetched by
 * service invocation through its sidecar (mTLS, configuration.yaml's access policy).
 */
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { reminderEventId } from "../../services/notifications/src/domain/reminder-due.ts";
import { openStream, poll, type SseClient } from "../notifications/notifications-harness.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack } from "../support/stack.ts";

describe("reminders and the live stream (task-api -> Kafka -> notifications -> SSE)", () => {
  const stack = useStack({ apps: ["task-api", "notifications"] });
  const streams: SseClient[] = [];
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });

  it("when a user creates a task whose reminder is due, then task.created and reminder.due reach the user's stream, and not another user's", async () => {
    const s = stack();
    const api = s.urls["task-api"] ?? "";
    const notifications = s.urls.notifications ?? "";
    const [user, other] = await Promise.all([signUpThroughTaskApi(api), signUpThroughTaskApi(api)]);

    const stream = await openStream(`${notifications}/v1/stream`, { authorization: `Bearer ${user.token}` });
    streams.push(stream);
    expect(stream.status).toBe(200);
    // EventSource's way: the token in the query.
    const otherStream = await openStream(`${notifications}/v1/stream?access_token=${other.token}`);
    streams.push(otherStream);
    expect(otherStream.status).toBe(200);

    const remindAt = new Date(Date.now() - 1000).toISOString();
    const created = await fetch(`${api}/v1/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Water the plants", remindAt }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const task = (await created.json()) as { id: string; remindAt: string };

    await stream.waitFor(
      "task.created on the stream",
      (m) => m.some((x) => x.data.type === EVENT_TYPES.taskCreated && x.data.data.taskId === task.id),
      60_000,
    );
    // The cron binding ticks every 30 s: the reminder fires on the first tick after it is stored.
    await stream.waitFor(
      "reminder.due on the stream",
      (m) => m.some((x) => x.data.type === EVENT_TYPES.reminderDue && x.data.data.taskId === task.id),
      120_000,
    );
    const reminder = stream.messages.find((x) => x.data.type === EVENT_TYPES.reminderDue);
    // Its id is derived from the task and the reminder time: a re-publish would dedupe.
    expect(reminder?.data.id).toBe(reminderEventId(task.id, new Date(task.remindAt)));
    expect(reminder?.data.data).toMatchObject({ userId: user.id, taskId: task.id, remindAt: task.remindAt });
    expect(otherStream.messages).toEqual([]);
    expect(s.logs("notifications")).not.toContain(other.token);
  }, 240_000);

  it("when task events happen while a client is away, then it resumes with Last-Event-ID and gets them in order", async () => {
    const s = stack();
    const api = s.urls["task-api"] ?? "";
    const notifications = s.urls.notifications ?? "";
    const user = await signUpThroughTaskApi(api);
    const auth = { authorization: `Bearer ${user.token}` };

    const first = await openStream(`${notifications}/v1/stream`, auth);
    streams.push(first);
    const created = await fetch(`${api}/v1/tasks`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ title: "Pay the rent" }),
    });
    expect(created.status).toBe(201);
    const task = (await created.json()) as { id: string };
    await first.waitFor("task.created", (m) => m.length >= 1, 60_000);
    const lastEventId = first.messages[0]?.id ?? "";
    first.close();

    const done = await fetch(`${api}/v1/tasks/${task.id}/complete`, { method: "POST", headers: auth });
    expect(done.status, await done.clone().text()).toBe(200);
    const removed = await fetch(`${api}/v1/tasks/${task.id}`, { method: "DELETE", headers: auth });
    expect(removed.status).toBe(204);

    const resumed = await openStream(`${notifications}/v1/stream`, { ...auth, "last-event-id": lastEventId });
    streams.push(resumed);
    await resumed.waitFor("task.completed and task.deleted", (m) => m.length >= 2, 60_000);
    expect(resumed.messages.map((m) => m.data.type)).toEqual([
      EVENT_TYPES.taskCompleted,
      EVENT_TYPES.taskDeleted,
    ]);
    expect(resumed.messages.every((m) => m.data.data.taskId === task.id)).toBe(true);
  }, 180_000);

  it("when notifications starts before task-api is up, then it is not ready until it has the keys, becomes ready by itself and serves the stream with sign-up's session token", async () => {
    const s = stack();
    const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
    const ops = s.opsUrls.notifications ?? "";
    await s.kill("task-api", "app");
    // notifications starts while task-api is down: its keys cannot be loaded.
    const notificationsBack = s.restart("notifications", "app");
    notificationsBack.catch(() => undefined);
    let sawNotReady = false;
    const until = Date.now() + 60_000;
    while (!sawNotReady && Date.now() < until) {
      const ready = await fetch(`${ops}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 503) sawNotReady = true;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sawNotReady).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await fetch(`${ops}/readyz`)).status).toBe(503);

    await s.restart("task-api", "app");
    // No restart of notifications: it retries on its own and becomes ready.
    await notificationsBack;
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
    const stream = await openStream(`${s.urls.notifications ?? ""}/v1/stream`, {
      authorization: `Bearer ${user.sessionToken}`,
    });
    streams.push(stream);
    expect(stream.status).toBe(200);
    await poll("the connected comment", () => stream.comments.includes("connected"), 10_000);
  }, 240_000);

  it("when notifications gets SIGTERM while a stream is open, then the stream ends and the drain does not wait for it", async () => {
    const s = stack();
    const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
    const stream = await openStream(`${s.urls.notifications ?? ""}/v1/stream`, {
      authorization: `Bearer ${user.token}`,
    });
    streams.push(stream);
    expect(stream.status).toBe(200);

    await s.kill("notifications", "app", "SIGTERM");
    await stream.waitForEnd();
    const logs = s.logs("notifications");
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).not.toContain("shutdown timed out");
  }, 120_000);
});
