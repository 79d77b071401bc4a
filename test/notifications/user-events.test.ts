import { randomUUID } from "node:crypto";
import { EVENT_TYPES, exampleEvents } from "@taskmesh/contracts";
import { createLogger } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createStreamListener,
  type StreamListener,
} from "../../services/notifications/src/data/stream-listener.ts";
import { deliverWithoutAppToken, invalidUserDeleted, userDeleted } from "../support/cloud-events.ts";
import {
  openStream,
  reminderDueEvent,
  startNotifications,
  taskEvent,
  type NotificationsHarness,
  type SseClient,
} from "./notifications-harness.ts";

let h: NotificationsHarness;
/** A second listener wired as main.ts wires it: a deleted account's streams end. */
let deletions: StreamListener;
const streams: SseClient[] = [];
beforeAll(async () => {
  h = await startNotifications();
  const url = (h.pool as unknown as { options: { connectionString: string } }).options.connectionString;
  deletions = createStreamListener({
    connectionString: url,
    logger: createLogger({ service: "notifications", level: "silent" }),
    onNotice: () => undefined,
    onReconnect: () => undefined,
    onUserDeleted: (userId) => {
      h.liveStream.endUser(userId);
    },
  });
  await deletions.start();
});
afterAll(async () => {
  for (const s of streams) s.close();
  await deletions.stop();
  await h.close();
});

const deliverUserEvent = (event: unknown) => h.deliver("user-events", event);

/** Rows naming the user in each of notifications' tables. */
async function rowsOf(userId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ["reminders", "stream_events", "stream_tickets", "webhooks", "webhook_deliveries"]) {
    const { rows } = await h.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`,
      [userId],
    );
    counts[table] = rows[0]?.n ?? -1;
  }
  return counts;
}

/** What userWithData leaves in each table. */
const WITH_DATA = { reminders: 1, stream_events: 2, stream_tickets: 1, webhooks: 1, webhook_deliveries: 1 };

/** A user with a reminder, stream events, an unused stream ticket, and a webhook with one delivery (its payload). */
async function userWithData(): Promise<string> {
  const userId = randomUUID();
  const taskId = randomUUID();
  const remindAt = new Date(Date.now() + 3600_000).toISOString();
  expect(
    await h.deliver(
      "task-events",
      taskEvent(EVENT_TYPES.taskCreated, { userId, taskId, sequence: 1, remindAt }),
    ),
  ).toBe("SUCCESS");
  expect(
    await h.deliver(
      "reminders",
      reminderDueEvent({ userId, taskId: randomUUID(), remindAt: new Date().toISOString() }),
    ),
  ).toBe("SUCCESS");
  // This app is built without the webhooks module: its rows are written as the module writes them.
  const webhookId = randomUUID();
  await h.pool.query(
    `INSERT INTO webhooks (id, user_id, url, event_types, secret) VALUES ($1, $2, 'https://hooks.example/x', $3, 'sealed')`,
    [webhookId, userId, [EVENT_TYPES.taskCreated]],
  );
  await h.pool.query(
    `INSERT INTO webhook_deliveries (id, webhook_id, user_id, event_id, event_type, payload)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      randomUUID(),
      webhookId,
      userId,
      randomUUID(),
      EVENT_TYPES.taskCreated,
      JSON.stringify({ title: "secret" }),
    ],
  );
  await h.pool.query(
    `INSERT INTO stream_tickets (ticket_hash, user_id, expires_at, token_expires_at)
     VALUES ($1, $2, now() + interval '1 minute', now() + interval '15 minutes')`,
    [randomUUID(), userId],
  );
  expect(await rowsOf(userId)).toEqual(WITH_DATA);
  return userId;
}

const NONE = { reminders: 0, stream_events: 0, stream_tickets: 0, webhooks: 0, webhook_deliveries: 0 };

describe("POST /events/user-events", () => {
  it("when user.deleted is delivered, then the user's reminders, stream events, webhooks and deliveries are deleted and other users' stay", async () => {
    const gone = await userWithData();
    const kept = await userWithData();
    expect(await deliverUserEvent(userDeleted(gone))).toBe("SUCCESS");
    expect(await rowsOf(gone)).toEqual(NONE);
    expect(await rowsOf(kept)).toEqual(WITH_DATA);
    const { rows } = await h.pool.query(
      "SELECT deleted_at FROM notification_deleted_users WHERE user_id = $1",
      [gone],
    );
    expect(rows).toEqual([{ deleted_at: new Date("2026-11-23T12:00:00.000Z") }]);
  });

  it("when user.deleted is delivered again, or twice at once, then each is SUCCESS and one tombstone stays", async () => {
    const gone = await userWithData();
    const event = userDeleted(gone);
    expect(await deliverUserEvent(event)).toBe("SUCCESS");
    expect(await Promise.all([deliverUserEvent(event), deliverUserEvent(userDeleted(gone))])).toEqual([
      "SUCCESS",
      "SUCCESS",
    ]);
    expect(await rowsOf(gone)).toEqual(NONE);
    const { rows } = await h.pool.query("SELECT 1 FROM notification_deleted_users WHERE user_id = $1", [
      gone,
    ]);
    expect(rows).toHaveLength(1);
  });

  it("when a task event or a reminder of the deleted user arrives after the purge, then it is acknowledged and stores nothing", async () => {
    const gone = await userWithData();
    expect(await deliverUserEvent(userDeleted(gone))).toBe("SUCCESS");
    const taskId = randomUUID();
    const remindAt = new Date(Date.now() + 3600_000).toISOString();
    expect(
      await h.deliver(
        "task-events",
        taskEvent(EVENT_TYPES.taskUpdated, { userId: gone, taskId, sequence: 2, remindAt }),
      ),
    ).toBe("SUCCESS");
    expect(
      await h.deliver(
        "reminders",
        reminderDueEvent({ userId: gone, taskId, remindAt: new Date().toISOString() }),
      ),
    ).toBe("SUCCESS");
    expect(await rowsOf(gone)).toEqual(NONE);
  });

  it("when events of a user are being handled while the user is purged, then none survives the purge", async () => {
    const userId = randomUUID();
    const deliveries = Array.from({ length: 30 }, () =>
      h.deliver(
        "task-events",
        taskEvent(EVENT_TYPES.taskCreated, {
          userId,
          taskId: randomUUID(),
          sequence: 1,
          remindAt: new Date(Date.now() + 3600_000).toISOString(),
        }),
      ),
    );
    const purge = deliverUserEvent(userDeleted(userId));
    expect(new Set(await Promise.all(deliveries))).toEqual(new Set(["SUCCESS"]));
    expect(await purge).toBe("SUCCESS");
    expect(await rowsOf(userId)).toEqual(NONE);
  });

  it("when the user has an open live stream, then it ends at the deletion and a new one is refused with 401", async () => {
    const user = await h.signUp();
    const stream = await openStream(`${h.baseUrl}/v1/stream`, user.auth);
    streams.push(stream);
    expect(stream.status).toBe(200);
    expect(await deliverUserEvent(userDeleted(user.id))).toBe("SUCCESS");
    await stream.waitForEnd(10_000);

    // The access token outlives the account (a JWT is valid until it expires): still refused.
    const again = await h.request.get("/v1/stream").set(user.auth).expect(401);
    expect(again.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("when a message is not a valid user.deleted, then it is dropped and nothing is purged", async () => {
    const kept = await userWithData();
    const valid = userDeleted(kept);
    const poison = invalidUserDeleted(valid, [
      exampleEvents()[EVENT_TYPES.taskCreated],
      exampleEvents()[EVENT_TYPES.reminderDue],
    ]);
    for (const message of poison)
      expect(await deliverUserEvent(message), JSON.stringify(message)).toBe("DROP");
    expect(await rowsOf(kept)).toEqual(WITH_DATA);
  });

  it("when user.deleted comes without the sidecar's app token, then 401 and nothing is purged", async () => {
    const kept = await userWithData();
    await deliverWithoutAppToken(h.request, "/events/user-events", userDeleted(kept));
    expect(await rowsOf(kept)).toEqual(WITH_DATA);
  });
});
