import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

describe("Idempotency-Key lifetime", () => {
  let api: TestTaskApi;
  let now = new Date("2026-11-26T12:00:00Z");
  beforeAll(async () => {
    api = await startTaskApi({ clock: () => now });
  });
  afterAll(async () => {
    await api.close();
  });

  it("when a key is retried within 24 h, then the first response is replayed; after 24 h, the key is free again", async () => {
    const user = await api.signUp();
    const first = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k-1")
      .send({ title: "first" })
      .expect(201);

    now = new Date(now.getTime() + 23 * 3600_000);
    const replay = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k-1")
      .send({ title: "first" })
      .expect(201);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.body).toEqual(first.body);
    await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k-1")
      .send({ title: "other" })
      .expect(422);

    now = new Date(now.getTime() + 2 * 3600_000);
    const fresh = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "k-1")
      .send({ title: "other" })
      .expect(201);
    expect(fresh.headers["idempotent-replayed"]).toBeUndefined();
    expect((fresh.body as { id: string }).id).not.toBe((first.body as { id: string }).id);
    expect(await api.prisma.task.count({ where: { userId: user.id } })).toBe(2);
    expect(await api.prisma.idempotencyKey.count({ where: { userId: user.id } })).toBe(1);
  });
});
