import { randomUUID } from "node:crypto";
import { EVENT_TYPES, type TaskEvent } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_TOKEN, snapshot, startAuditLog, taskEvent, type TestAuditLog } from "./audit-log.ts";

let audit: TestAuditLog;
beforeAll(async () => {
  audit = await startAuditLog();
});
afterAll(async () => {
  await audit.close();
});

/** Records a task with `updates` updates after its creation: sequences 1..updates+1. */
async function taskWithHistory(
  updates: number,
  userId = randomUUID(),
): Promise<{ taskId: string; userId: string; events: TaskEvent[] }> {
  const taskId = randomUUID();
  const events = [taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: taskId, userId }) })];
  for (let version = 2; version <= updates + 1; version++) {
    events.push(
      taskEvent(EVENT_TYPES.taskUpdated, {
        task: snapshot({ id: taskId, userId, title: `Title ${version}`, version }),
        changes: { title: { from: `Title ${version - 1}`, to: `Title ${version}` } },
      }),
    );
  }
  // Delivered newest first: the history is ordered by sequence, not by arrival.
  await audit.deliverBulk([...events].reverse());
  return { taskId, userId, events };
}

describe("GET /internal/tasks/:taskId/history", () => {
  it("when the owner reads a task's history, then every entry comes in sequence order with who, when and what changed", async () => {
    const { taskId, userId, events } = await taskWithHistory(2);
    const page = await audit.history(taskId, { userId });
    expect(page).toEqual({
      data: events.map((event) => ({
        eventId: event.id,
        type: event.type,
        sequence: event.data.sequence,
        occurredAt: event.data.occurredAt,
        actor: { kind: "user", id: userId },
        changes: event.data.changes,
      })),
      nextCursor: null,
    });
    expect(page.data[2]?.changes).toEqual({ title: { from: "Title 2", to: "Title 3" } });
  });

  it("when the history is longer than a page, then cursors walk it without gaps or repeats", async () => {
    const { taskId, userId, events } = await taskWithHistory(11);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { data: { sequence: number }[]; nextCursor: string | null } = await audit.history(taskId, {
        userId,
        limit: 5,
        ...(cursor ? { cursor } : {}),
      });
      expect(page.data.length).toBeLessThanOrEqual(5);
      seen.push(...page.data.map((i) => i.sequence));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(seen).toEqual(events.map((e) => e.data.sequence));
    expect(pages).toBe(3);
  });

  it("when the last page is exactly full, then its nextCursor is null", async () => {
    const { taskId, userId } = await taskWithHistory(3);
    const page = await audit.history(taskId, { userId, limit: 4 });
    expect(page.data).toHaveLength(4);
    expect(page.nextCursor).toBeNull();
  });

  it("when no limit is given, then a page holds 50 entries; at most 200 may be asked for", async () => {
    const { taskId, userId } = await taskWithHistory(209);
    const first = await audit.history(taskId, { userId });
    expect(first.data).toHaveLength(50);
    expect(first.nextCursor).not.toBeNull();
    const big = await audit.history(taskId, { userId, limit: 200 });
    expect(big.data).toHaveLength(200);
    const rest = await audit.history(taskId, { userId, limit: 200, cursor: big.nextCursor ?? "" });
    expect(rest.data.map((i) => i.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => 201 + i));
    expect(rest.nextCursor).toBeNull();
  });

  it("when another user asks for a task's history, then they get no entries", async () => {
    const { taskId } = await taskWithHistory(1);
    const page = await audit.history(taskId, { userId: randomUUID() });
    expect(page).toEqual({ data: [], nextCursor: null });
  });

  it("when two users' events carry the same task id, then each sees only their own", async () => {
    const taskId = randomUUID();
    const alice = randomUUID();
    const bob = randomUUID();
    const aliceEvent = taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: taskId, userId: alice }) });
    const bobEvent = taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: taskId, userId: bob }) });
    await audit.deliverBulk([aliceEvent, bobEvent]);
    expect((await audit.history(taskId, { userId: alice })).data.map((i) => i.eventId)).toEqual([
      aliceEvent.id,
    ]);
    expect((await audit.history(taskId, { userId: bob })).data.map((i) => i.eventId)).toEqual([bobEvent.id]);
  });

  it("when a task has no history, then the page is empty", async () => {
    expect(await audit.history(randomUUID(), { userId: randomUUID() })).toEqual({
      data: [],
      nextCursor: null,
    });
  });

  it("when the user id is not a UUID, then it names no user: the page is empty, not a 500", async () => {
    const { taskId } = await taskWithHistory(0);
    for (const userId of ["nobody", "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
      expect(await audit.history(taskId, { userId })).toEqual({ data: [], nextCursor: null });
    }
  });

  it("when the task id is in upper case, then it reads the same history", async () => {
    const { taskId, userId } = await taskWithHistory(0);
    expect((await audit.history(taskId.toUpperCase(), { userId })).data).toHaveLength(1);
  });

  describe("when the request is malformed, then it is 400 problem+json naming the parameter", () => {
    const taskId = randomUUID();
    const u = randomUUID();
    const cases: [string, string, Record<string, string>, string][] = [
      ["no userId", taskId, {}, "/userId"],
      ["an empty userId", taskId, { userId: "" }, "/userId"],
      ["limit 0", taskId, { userId: u, limit: "0" }, "/limit"],
      ["limit 201", taskId, { userId: u, limit: "201" }, "/limit"],
      ["a non-numeric limit", taskId, { userId: u, limit: "ten" }, "/limit"],
      ["an unknown parameter", taskId, { userId: u, sort: "desc" }, "/sort"],
      ["a cursor that is not ours", taskId, { userId: u, cursor: "bm9wZQ" }, "/cursor"],
      ["a task id that is not a UUID", "123", { userId: u }, "/taskId"],
    ];
    for (const [what, id, query, pointer] of cases) {
      it(what, async () => {
        const res = await audit.request
          .get(`/internal/tasks/${id}/history`)
          .query(query)
          .set("dapr-api-token", APP_TOKEN)
          .expect(400);
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 400, code: "bad-request" });
        expect((res.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(
          pointer,
        );
      });
    }

    it("userId given twice", async () => {
      const res = await audit.request
        .get(`/internal/tasks/${taskId}/history?userId=a&userId=b`)
        .set("dapr-api-token", APP_TOKEN)
        .expect(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    });
  });
});
