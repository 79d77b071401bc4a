import { beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const APP_TOKEN = "task-api-app-token-for-tests";

function asRecurringTasks(userId: string, occurrenceKey?: string): Record<string, string> {
  return {
    "dapr-api-token": APP_TOKEN,
    "dapr-caller-app-id": "recurring-tasks",
    "x-taskmesh-user-id": userId,
    ...(occurrenceKey === undefined ? {} : { "x-taskmesh-occurrence-key": occurrenceKey }),
  };
}

interface Task {
  id: string;
  title: string;
}

const api = useTaskApi({
  trustedCallers: { appApiToken: APP_TOKEN, appIds: ["recurring-tasks"] },
});

const key = () => `${crypto.randomUUID()}/2026-12-07T09:00:00.000Z`;

async function createdEvents(taskId: string): Promise<number> {
  return api.prisma.outboxEvent.count({
    where: { partitionKey: taskId, type: "dev.taskmesh.task.created.v1" },
  });
}

describe("occurrence keys", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await api.signUp();
  });

  it("when recurring-tasks creates the same occurrence twice, then the second answers 200 with the first task and writes no event", async () => {
    const occurrence = key();
    const first = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id, occurrence))
      .send({ title: "Water the plants", dueAt: "2026-12-07T09:00:00Z" })
      .expect(201);
    const task = first.body as Task;

    const second = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id, occurrence))
      .send({ title: "Water the plants", dueAt: "2026-12-07T09:00:00Z" })
      .expect(200);

    expect(second.body).toEqual(task);
    expect(second.headers.location).toBe(`/v1/tasks/${task.id}`);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(await api.prisma.task.count({ where: { userId: user.id, occurrenceKey: occurrence } })).toBe(1);
    expect(await createdEvents(task.id)).toBe(1);
  });

  it("when the same occurrence is created by many requests at once, then exactly one task and one event exist, and every answer names it", async () => {
    const occurrence = key();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.request
          .post("/v1/tasks")
          .set(asRecurringTasks(user.id, occurrence))
          .send({ title: "Concurrent occurrence" }),
      ),
    );

    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(responses.map((r) => (r.body as Task).id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await api.prisma.task.count({ where: { userId: user.id, occurrenceKey: occurrence } })).toBe(1);
    expect(await createdEvents(id ?? "")).toBe(1);
  });

  it("when two users get an occurrence with the same key, then each has their own task", async () => {
    const other = await api.signUp();
    const occurrence = key();
    const a = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id, occurrence))
      .send({ title: "A" })
      .expect(201);
    const b = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(other.id, occurrence))
      .send({ title: "B" })
      .expect(201);

    expect((a.body as Task).id).not.toBe((b.body as Task).id);
  });

  it("when a user (not a trusted service) sends an occurrence key, then it is ignored: each create makes a task and no key is stored", async () => {
    const occurrence = key();
    const create = () =>
      api
        .as(user)
        .post("/v1/tasks", { title: "User with a key" }, { "x-taskmesh-occurrence-key": occurrence })
        .expect(201);
    const first = (await create()).body as Task;
    const second = (await create()).body as Task;

    expect(first.id).not.toBe(second.id);
    expect(await api.prisma.task.count({ where: { occurrenceKey: occurrence } })).toBe(0);
  });

  it("when recurring-tasks sends a key that is too long or not visible ASCII, then 400 names the header", async () => {
    const res = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id, "x".repeat(201)))
      .send({ title: "Bad key" })
      .expect(400);

    expect(res.body).toMatchObject({ errors: [{ in: "header", pointer: "/x-taskmesh-occurrence-key" }] });
  });

  it("when recurring-tasks creates without a key, then every create is a new task", async () => {
    const first = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id))
      .send({ title: "No key" });
    const second = await api.request
      .post("/v1/tasks")
      .set(asRecurringTasks(user.id))
      .send({ title: "No key" });

    expect([first.status, second.status]).toEqual([201, 201]);
    expect((first.body as Task).id).not.toBe((second.body as Task).id);
  });
});
