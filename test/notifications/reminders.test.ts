import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNotifications, taskEvent, type NotificationsHarness } from "./notifications-harness.ts";

interface ReminderRow {
  remind_at: Date;
  title: string;
  task_sequence: number;
  fired_at: Date | null;
}

describe("task events keep the reminders table right", () => {
  let h: NotificationsHarness;
  const userId = randomUUID();
  beforeAll(async () => {
    h = await startNotifications();
  });
  afterAll(async () => {
    await h.close();
  });

  const reminder = async (taskId: string): Promise<ReminderRow | undefined> =>
    (
      await h.pool.query<ReminderRow>(
        "SELECT remind_at, title, task_sequence, fired_at FROM reminders WHERE task_id = $1",
        [taskId],
      )
    ).rows[0];
  const pending = async (taskId: string): Promise<Date | undefined> =>
    (
      await h.pool.query<{ remind_at: Date }>(
        "SELECT remind_at FROM reminders WHERE task_id = $1 AND fired_at IS NULL",
        [taskId],
      )
    ).rows[0]?.remind_at;

  it("when a task is created with remindAt, then its reminder is pending at that time", async () => {
    const taskId = randomUUID();
    const remindAt = "2030-01-01T09:00:00.000Z";
    expect(
      await h.deliver(
        "task-events",
        taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1, remindAt }),
      ),
    ).toBe("SUCCESS");
    expect(await pending(taskId)).toEqual(new Date(remindAt));
  });

  it("when a task without remindAt is created, then no row is written", async () => {
    const taskId = randomUUID();
    await h.deliver("task-events", taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1 }));
    expect(await reminder(taskId)).toBeUndefined();
  });

  it("when an older event arrives after a newer one, then the newer remindAt stays", async () => {
    const taskId = randomUUID();
    const newer = taskEvent(EVENT_TYPES.taskUpdated, {
      userId,
      taskId,
      sequence: 3,
      remindAt: "2030-01-03T09:00:00.000Z",
      changes: { remindAt: { from: "2030-01-02T09:00:00.000Z", to: "2030-01-03T09:00:00.000Z" } },
    });
    const older = taskEvent(EVENT_TYPES.taskUpdated, {
      userId,
      taskId,
      sequence: 2,
      remindAt: "2030-01-02T09:00:00.000Z",
      changes: { remindAt: { from: null, to: "2030-01-02T09:00:00.000Z" } },
    });
    await h.deliver("task-events", newer);
    expect(await h.deliver("task-events", older)).toBe("SUCCESS");
    expect(await reminder(taskId)).toMatchObject({
      remind_at: new Date("2030-01-03T09:00:00.000Z"),
      task_sequence: 3,
    });
  });

  it("when the same event is delivered twice, then it is applied and stored once", async () => {
    const taskId = randomUUID();
    const event = taskEvent(EVENT_TYPES.taskCreated, {
      userId,
      taskId,
      sequence: 1,
      remindAt: "2030-02-01T09:00:00.000Z",
    });
    expect(await h.deliver("task-events", event)).toBe("SUCCESS");
    expect(await h.deliver("task-events", event)).toBe("SUCCESS");
    const stored = await h.pool.query("SELECT 1 FROM stream_events WHERE event_id = $1", [event.id]);
    expect(stored.rowCount).toBe(1);
    expect(await reminder(taskId)).toMatchObject({ task_sequence: 1, fired_at: null });
  });

  it.each([
    ["completed", EVENT_TYPES.taskCompleted, "2030-03-01T09:00:00.000Z"],
    ["deleted", EVENT_TYPES.taskDeleted, "2030-03-01T09:00:00.000Z"],
    ["given no remindAt", EVENT_TYPES.taskUpdated, null],
  ] as const)(
    "when a task is %s, then its reminder is no longer pending, and a late older event does not bring it back",
    async (_name, type, remindAt) => {
      const taskId = randomUUID();
      const created = taskEvent(EVENT_TYPES.taskCreated, {
        userId,
        taskId,
        sequence: 1,
        remindAt: "2030-03-01T09:00:00.000Z",
      });
      const edited = taskEvent(EVENT_TYPES.taskUpdated, {
        userId,
        taskId,
        sequence: 2,
        remindAt: "2030-03-01T09:00:00.000Z",
        title: "Call the dentist today",
        changes: { title: { from: "Call the dentist", to: "Call the dentist today" } },
      });
      await h.deliver("task-events", created);
      await h.deliver(
        "task-events",
        taskEvent(type, {
          userId,
          taskId,
          sequence: 3,
          remindAt,
          changes: remindAt === null ? { remindAt: { from: "2030-03-01T09:00:00.000Z", to: null } } : {},
        }),
      );
      expect(await pending(taskId)).toBeUndefined();
      // The update (sequence 2) was delayed, e.g. republished by the relay after a failure.
      await h.deliver("task-events", edited);
      expect(await pending(taskId)).toBeUndefined();
    },
  );

  it("when a task's first event is a removal of its remindAt, then a late older event cannot schedule it", async () => {
    const taskId = randomUUID();
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskUpdated, {
        userId,
        taskId,
        sequence: 3,
        changes: { remindAt: { from: "2030-04-01T09:00:00.000Z", to: null } },
      }),
    );
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskUpdated, {
        userId,
        taskId,
        sequence: 2,
        remindAt: "2030-04-01T09:00:00.000Z",
      }),
    );
    expect(await pending(taskId)).toBeUndefined();
  });

  it("when a completed task is reopened before its reminder fired, then the reminder is pending again", async () => {
    const taskId = randomUUID();
    const remindAt = "2030-05-01T09:00:00.000Z";
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1, remindAt }),
    );
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskCompleted, { userId, taskId, sequence: 2, remindAt }),
    );
    expect(await pending(taskId)).toBeUndefined();
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskReopened, { userId, taskId, sequence: 3, remindAt }),
    );
    expect(await pending(taskId)).toEqual(new Date(remindAt));
  });

  it("when a fired reminder's task changes, then the same remindAt stays fired and a new remindAt is pending", async () => {
    const taskId = randomUUID();
    const past = new Date(Date.now() - 60_000).toISOString();
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1, remindAt: past }),
    );
    await h.tick();
    expect((await reminder(taskId))?.fired_at).toBeInstanceOf(Date);

    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskUpdated, {
        userId,
        taskId,
        sequence: 2,
        remindAt: past,
        title: "Renamed",
        changes: { title: { from: "Call the dentist", to: "Renamed" } },
      }),
    );
    expect(await pending(taskId)).toBeUndefined();

    const later = "2030-06-01T09:00:00.000Z";
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskUpdated, {
        userId,
        taskId,
        sequence: 3,
        remindAt: later,
        changes: { remindAt: { from: past, to: later } },
      }),
    );
    expect(await pending(taskId)).toEqual(new Date(later));
  });

  it("when a delivery is not a valid event, then it is dropped (to the dead-letter topic)", async () => {
    expect(await h.deliver("task-events", { specversion: "1.0", id: "x", source: "s", type: "nope" })).toBe(
      "DROP",
    );
    const bad = taskEvent(EVENT_TYPES.taskCreated, { userId, taskId: randomUUID(), sequence: 1 });
    expect(await h.deliver("task-events", { ...bad, data: { ...bad.data, sequence: "one" } })).toBe("DROP");
    expect(await h.deliver("reminders", bad)).toBe("DROP");
  });

  it("when a sidecar route is called without the app token, or with another, then 401 problem+json", async () => {
    const event = taskEvent(EVENT_TYPES.taskCreated, { userId, taskId: randomUUID(), sequence: 1 });
    for (const path of ["/events/task-events", "/events/reminders", "/cron/reminders"]) {
      const none = await h.request.post(path).send(event).expect(401);
      expect(none.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(none.headers["www-authenticate"]).toBeDefined();
      await h.request.post(path).set("dapr-api-token", "wrong").send(event).expect(401);
    }
    const stored = await h.pool.query("SELECT 1 FROM stream_events WHERE event_id = $1", [event.id]);
    expect(stored.rowCount).toBe(0);
  });
});
