import { randomUUID } from "node:crypto";
import { EVENT_TYPES, exampleEvents } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deliverCloudEvent,
  deliverWithoutAppToken,
  invalidUserDeleted,
  userDeleted,
} from "../support/cloud-events.ts";
import { APP_TOKEN, snapshot, startAuditLog, taskEvent, type TestAuditLog } from "./audit-log.ts";

let audit: TestAuditLog;
beforeAll(async () => {
  audit = await startAuditLog();
});
afterAll(async () => {
  await audit.close();
});

/** POSTs one CloudEvent to the user-events route as daprd does; returns the status answered. */
const deliverUserEvent = (event: unknown, target: TestAuditLog = audit) =>
  deliverCloudEvent(target.request, "/events/user-events", APP_TOKEN, event);

/** A user with two tasks, each with a created and an updated entry recorded. */
async function userWithHistory(): Promise<{ userId: string; taskIds: string[] }> {
  const userId = randomUUID();
  const taskIds = [randomUUID(), randomUUID()];
  for (const id of taskIds) {
    const v1 = snapshot({ id, userId });
    const v2 = { ...v1, title: "Renamed", version: 2 };
    const statuses = await audit.deliverBulk([
      taskEvent(EVENT_TYPES.taskCreated, { task: v1 }),
      taskEvent(EVENT_TYPES.taskUpdated, {
        task: v2,
        changes: { title: { from: v1.title, to: v2.title } },
      }),
    ]);
    expect(statuses).toEqual({ "0": "SUCCESS", "1": "SUCCESS" });
  }
  return { userId, taskIds };
}

const entriesOfUser = (userId: string) => audit.prisma.auditEntry.count({ where: { userId } });

describe("POST /events/user-events", () => {
  it("when user.deleted is delivered, then the user's whole history is deleted, a tombstone kept, and other users' history stays", async () => {
    const gone = await userWithHistory();
    const kept = await userWithHistory();
    expect(await entriesOfUser(gone.userId)).toBe(4);

    expect(await deliverUserEvent(userDeleted(gone.userId))).toBe("SUCCESS");

    expect(await entriesOfUser(gone.userId)).toBe(0);
    expect(await entriesOfUser(kept.userId)).toBe(4);
    const tombstone = await audit.prisma.auditDeletedUser.findUnique({ where: { userId: gone.userId } });
    expect(tombstone?.deletedAt.toISOString()).toBe("2026-11-23T12:00:00.000Z");
    // The history route answers like a task that never had any.
    const history = await audit.history(gone.taskIds[0] ?? "", { userId: gone.userId, limit: 10 });
    expect(history.data).toEqual([]);
    expect(await audit.counter("audit_log_entries_purged_total")).toBeGreaterThanOrEqual(4);
  });

  it("when user.deleted is delivered again, or twice at once, then each is SUCCESS and nothing else changes", async () => {
    const gone = await userWithHistory();
    const event = userDeleted(gone.userId);
    const purgedBefore = await audit.counter("audit_log_users_purged_total");
    expect(await deliverUserEvent(event)).toBe("SUCCESS");
    expect(await deliverUserEvent(event)).toBe("SUCCESS");
    // Another event id for the same user (task-api never sends two, but a replay tool might).
    const outcomes = await Promise.all([deliverUserEvent(userDeleted(gone.userId)), deliverUserEvent(event)]);
    expect(outcomes).toEqual(["SUCCESS", "SUCCESS"]);
    expect(await entriesOfUser(gone.userId)).toBe(0);
    expect(await audit.prisma.auditDeletedUser.count({ where: { userId: gone.userId } })).toBe(1);
    expect((await audit.counter("audit_log_users_purged_total")) - purgedBefore).toBe(1);
  });

  it("when a task event of the deleted user arrives after the purge (late or redelivered), then it is acknowledged and records nothing", async () => {
    const gone = await userWithHistory();
    const other = randomUUID();
    expect(await deliverUserEvent(userDeleted(gone.userId))).toBe("SUCCESS");

    const late = snapshot({ id: gone.taskIds[0] ?? "", userId: gone.userId, version: 3 });
    const otherTask = snapshot({ id: randomUUID(), userId: other });
    expect(await audit.deliver(taskEvent(EVENT_TYPES.taskDeleted, { task: late }))).toBe("SUCCESS");
    expect(
      await audit.deliverBulk([
        taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: randomUUID(), userId: gone.userId }) }),
        taskEvent(EVENT_TYPES.taskCreated, { task: otherTask }),
      ]),
    ).toEqual({ "0": "SUCCESS", "1": "SUCCESS" });

    expect(await entriesOfUser(gone.userId)).toBe(0);
    // The other user's event in the same batch is recorded as usual.
    expect(await entriesOfUser(other)).toBe(1);
    expect(await audit.counter("audit_log_events_of_deleted_users_total")).toBeGreaterThanOrEqual(2);
  });

  it("when task events of a user are being recorded while the user is purged, then none survives the purge", async () => {
    const userId = randomUUID();
    const batch = () =>
      Array.from({ length: 50 }, () =>
        taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: randomUUID(), userId }) }),
      );
    // Appends keep arriving before, during and after the purge (four at a time, as replicas would).
    let purge: Promise<string> | undefined;
    const results: Record<string, string>[] = [];
    const lane = async (n: number) => {
      for (let i = 0; i < 8; i++) {
        if (n === 0 && i === 3) purge = deliverUserEvent(userDeleted(userId));
        results.push(await audit.deliverBulk(batch()));
      }
    };
    await Promise.all([0, 1, 2, 3].map(lane));
    expect(await purge).toBe("SUCCESS");
    for (const statuses of results) expect(Object.values(statuses).every((s) => s === "SUCCESS")).toBe(true);
    expect(await entriesOfUser(userId)).toBe(0);
  });

  it("when a message is not a valid user.deleted, then it is dropped and nothing is purged", async () => {
    const kept = await userWithHistory();
    const valid = userDeleted(kept.userId);
    // A known type this route does not take, among the other messages it must drop.
    const poison = invalidUserDeleted(valid, [exampleEvents()[EVENT_TYPES.taskCreated]]);
    for (const message of poison)
      expect(await deliverUserEvent(message), JSON.stringify(message)).toBe("DROP");
    expect(await entriesOfUser(kept.userId)).toBe(4);
    expect(await audit.prisma.auditDeletedUser.count({ where: { userId: kept.userId } })).toBe(0);
  });

  it("when user.deleted comes without the sidecar's app token, then 401 and nothing is purged", async () => {
    const kept = await userWithHistory();
    await deliverWithoutAppToken(audit.request, "/events/user-events", userDeleted(kept.userId));
    expect(await entriesOfUser(kept.userId)).toBe(4);
  });
});

describe("POST /events/user-events while the database is down", () => {
  let down: TestAuditLog;
  beforeAll(async () => {
    down = await startAuditLog({ databaseUrl: "postgresql://postgres@127.0.0.1:1/none" });
  });
  afterAll(async () => {
    await down.close();
  });

  it("when the database cannot be reached, then user.deleted is answered RETRY", async () => {
    expect(await deliverUserEvent(userDeleted(randomUUID()), down)).toBe("RETRY");
  });
});
