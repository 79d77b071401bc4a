import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

describe("task-api harness", () => {
  let api: TestTaskApi;
  beforeAll(async () => { api = await startTaskApi(); });
  afterAll(async () => { await api.close(); });

  it("when a user signs up and creates a task, then it can be read back with an ETag", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const created = await api.request.post("/v1/tasks").set(user.auth).send({ title: "hello", dueAt: "2026-12-01" }).expect(201);
    const read = await api.request.get(created.headers.location as string).set(user.auth).expect(200);
    expect(read.headers.etag).toBe('"1"');
    expect(read.body).toMatchObject({ title: "hello", allDay: true, dueDate: "2026-12-01", dueAt: "2026-11-30T23:00:00.000Z" });
  });
});
