import { EVENT_TYPES, newEvent, TOPICS, type TaskEventType } from "@taskmesh/contracts";
import { describe, expect, it } from "vitest";
import { taskApiFixtures, useTaskApi } from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

interface EventData {
  taskId: string;
  userId: string;
  sequence: number;
  occurredAt: string;
  actor: { kind: string; id: string };
  task: Record<string, unknown>;
  changes: Record<string, { from: unknown; to: unknown }>;
}
interface Row {
  topic: string;
  type: string;
  partitionKey: string;
  data: EventData;
}
const api = useTaskApi();
const { createTask, postWithKey } = taskApiFixtures(api);

/** The outbox rows about one user's tasks, oldest first. */
async function events(user: TestUser): Promise<Row[]> {
  const rows = await api.prisma.outboxEvent.findMany({ orderBy: { id: "asc" } });
  return (rows as unknown as Row[]).filter((r) => r.data.userId === user.id);
}
const kinds = (rows: Row[]) =>
  rows.map((r) => `${r.type.split(".")[3] ?? "?"}:${r.data.taskId}:${r.data.sequence}`);

describe("transactional outbox", () => {
  it("when a task is created, then one task.created event carries the task as answered, keyed by its id", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "Write report", tags: ["work"], dueAt: "2026-12-01" });

    const [row, ...rest] = await events(user);
    expect(rest).toEqual([]);
    expect(row).toMatchObject({
      topic: "task-events",
      type: "dev.taskmesh.task.created.v1",
      partitionKey: task.id,
    });
    const { dueDate: _derived, ...snapshot } = task;
    expect(row?.data).toMatchObject({
      taskId: task.id,
      userId: user.id,
      sequence: 1,
      actor: { kind: "user", id: user.id },
      changes: {},
    });
    expect(row?.data.task).toEqual({ ...snapshot, userId: user.id });
  });

  it("when a task is updated, then task.updated names each changed field from what to what, with the new version as sequence", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "Draft", priority: "low" });
    await api
      .as(user)
      .patch(`/v1/tasks/${task.id}`, { title: "Final", priority: "high", tags: ["a"] })
      .expect(200);

    const [, updated] = await events(user);
    expect(updated?.type).toBe("dev.taskmesh.task.updated.v1");
    expect(updated?.data.sequence).toBe(2);
    expect(updated?.data.changes).toEqual({
      title: { from: "Draft", to: "Final" },
      priority: { from: "low", to: "high" },
      tags: { from: [], to: ["a"] },
    });
  });

  it("when a parent is completed, then it and each open subtask get task.completed; reopening a subtask reopens the parent, each with an event", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "Trip" });
    const a = await createTask(user, { title: "Tickets", parentId: parent.id });
    const b = await createTask(user, { title: "Hotel", parentId: parent.id });
    await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200);
    await api.as(user).post(`/v1/tasks/${a.id}/reopen`).expect(200);

    const rows = (await events(user)).slice(3);
    expect(kinds(rows).sort()).toEqual(
      [
        `completed:${parent.id}:2`,
        `completed:${a.id}:2`,
        `completed:${b.id}:2`,
        `reopened:${a.id}:3`,
        `reopened:${parent.id}:3`,
      ].sort(),
    );
    expect(rows.find((r) => r.data.taskId === b.id)?.data.changes).toMatchObject({
      completed: { from: false, to: true },
    });
  });

  it("when a parent is deleted, then it and its subtask each get task.deleted with the last state and the next sequence", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, { title: "Move" });
    const sub = await createTask(user, { title: "Boxes", parentId: parent.id });
    await api.as(user).delete(`/v1/tasks/${parent.id}`).expect(204);

    const deleted = (await events(user)).filter((r) => r.type === "dev.taskmesh.task.deleted.v1");
    expect(kinds(deleted).sort()).toEqual([`deleted:${parent.id}:2`, `deleted:${sub.id}:2`].sort());
    expect(deleted.find((r) => r.data.taskId === sub.id)?.data.task).toMatchObject({
      title: "Boxes",
      version: 1,
    });
  });

  it("when a list is deleted, when the time zone changes, and when the account is deleted, then every task they touch gets its event", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const list = (await api.as(user).post("/v1/lists", { name: "Home" }).expect(201)).body as { id: string };
    const inList = await createTask(user, { title: "In list", listId: list.id });
    const allDay = await createTask(user, { title: "All day", dueAt: "2026-12-01" });
    const timed = await createTask(user, { title: "Timed", dueAt: "2026-12-01T09:00:00Z" });

    await api.as(user).delete(`/v1/lists/${list.id}`).expect(204);
    await api.as(user).patch("/v1/me", { timeZone: "America/New_York" }).expect(200);
    const afterZone = await events(user);
    expect(kinds(afterZone.slice(3))).toEqual([`deleted:${inList.id}:2`, `updated:${allDay.id}:2`]);
    expect(afterZone.at(-1)?.data.changes).toEqual({
      dueAt: { from: "2026-11-30T23:00:00.000Z", to: "2026-12-01T05:00:00.000Z" },
    });

    await api.as(user).delete("/v1/me").expect(204);
    const taskEvents = (await events(user)).filter((r) => r.topic === TOPICS.taskEvents);
    expect(kinds(taskEvents.slice(5)).sort()).toEqual(
      [`deleted:${allDay.id}:3`, `deleted:${timed.id}:2`].sort(),
    );
  });

  it("when the account is deleted, then user.deleted is written with its tasks' events, on user-events keyed by the user, and valid by the contract", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "Goes with the account" });
    await api.as(user).delete("/v1/me").expect(204);

    const rows = await events(user);
    const userEvents = rows.filter((r) => r.topic === TOPICS.userEvents);
    expect(userEvents).toHaveLength(1);
    const [row] = userEvents;
    expect(row?.type).toBe(EVENT_TYPES.userDeleted);
    expect(row?.partitionKey).toBe(user.id);
    // Ids only: the event outlives the account, so no name or email travels with it.
    expect(Object.keys(row?.data ?? {}).sort()).toEqual(["actor", "occurredAt", "userId"]);
    expect(row?.data.actor).toEqual({ kind: "user", id: user.id });
    // Committed together with the task's task.deleted, at the same instant.
    const taskDeleted = rows.find((r) => r.type === EVENT_TYPES.taskDeleted && r.data.taskId === task.id);
    expect(row?.data.occurredAt).toBe(taskDeleted?.data.occurredAt);
    expect(() => newEvent(EVENT_TYPES.userDeleted, row?.data as never, { id: "outbox-row" })).not.toThrow();
  });

  it("when the account is deleted twice at once, or again with a token that outlived it, then one user.deleted is written", async () => {
    const user = await api.signUp();
    await createTask(user, { title: "Only one deletion" });
    const answers = await Promise.all([api.as(user).delete("/v1/me"), api.as(user).delete("/v1/me")]);
    expect(answers.map((a) => a.status).sort()).toEqual([204, 401]);
    await api.as(user).delete("/v1/me").expect(401);
    expect((await events(user)).filter((r) => r.topic === TOPICS.userEvents)).toHaveLength(1);
  });

  it("when a request is rejected, or replayed with its Idempotency-Key, or changes nothing, then no event is written", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "Stable" });
    const before = (await events(user)).length;

    await api.as(user).post("/v1/tasks", { title: " " }).expect(422);
    await api.as(user).patch(`/v1/tasks/${task.id}`, { title: "x" }, { "If-Match": '"7"' }).expect(412);
    await api.as(user).patch(`/v1/tasks/${task.id}`, { recurrence: "FREQ=SOMETIMES" }).expect(422);
    await api.as(user).delete("/v1/tasks/01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f").expect(404);
    await api.as(user).post(`/v1/tasks/${task.id}/reopen`).expect(200); // already open
    await api.as(user).patch(`/v1/tasks/${task.id}`, {}).expect(200);
    await postWithKey(user, "/v1/tasks", { title: "Once" }, "once").expect(201);
    await postWithKey(user, "/v1/tasks", { title: "Once" }, "once").expect(201);

    expect((await events(user)).length).toBe(before + 1);
  });

  it("when another user's task is targeted, then nothing is written about it", async () => {
    const owner = await api.signUp();
    const intruder = await api.signUp();
    const task = await createTask(owner, { title: "Mine" });
    await api.as(intruder).post(`/v1/tasks/${task.id}/complete`).expect(404);
    await api.as(intruder).delete(`/v1/tasks/${task.id}`).expect(404);
    expect(kinds(await events(owner))).toEqual([`created:${task.id}:1`]);
    expect(await events(intruder)).toEqual([]);
  });
  it("when tasks go through every kind of change, then each event conforms to the shared event contracts", async () => {
    const user = await api.signUp();
    const parent = await createTask(user, {
      title: "Launch",
      dueAt: "2026-12-01",
      tags: ["work"],
      recurrence: "FREQ=WEEKLY",
    });
    const sub = await createTask(user, { title: "Checklist", parentId: parent.id });
    await api.as(user).patch(`/v1/tasks/${sub.id}`, { priority: "urgent" }).expect(200);
    await api.as(user).post(`/v1/tasks/${parent.id}/complete`).expect(200);
    await api.as(user).post(`/v1/tasks/${sub.id}/reopen`).expect(200);
    await api.as(user).delete(`/v1/tasks/${parent.id}`).expect(204);

    const rows = await events(user);
    expect(new Set(rows.map((r) => r.type)).size).toBe(5);
    for (const row of rows) {
      // newEvent validates the envelope and the data against the schema of the row's type.
      expect(() =>
        newEvent(row.type as TaskEventType, row.data as never, { id: "outbox-row" }),
      ).not.toThrow();
      expect(row.partitionKey).toBe(row.data.taskId);
    }
  });
});
