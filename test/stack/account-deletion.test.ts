/**
 * Account deletion through the real stack: `DELETE /v1/me` on task-api writes user.deleted to
 * its outbox with the deletion, the relay publishes it on user-events through its sidecar and
 * Kafka, and audit-log and notifications purge everything they keep for the user (history;
 * webhooks, deliveries with their payloads, reminders, stream events) and end the user's live
 * stream. An old task event of the user delivered afterwards (as a redelivery would be) records
 * nothing in either.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES, PUBSUB_NAME, TOPICS, type TaskEvent } from "@taskmesh/contracts";
import { createSidecarClient } from "@taskmesh/dapr";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { openStream, type SseClient } from "../notifications/notifications-harness.ts";
import { startReceiver, type Receiver } from "../notifications/webhook-receiver.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack } from "../support/stack.ts";

/** Every table of a service that names a user, and its user column. */
const USER_TABLES = [
  "audit_entries",
  "reminders",
  "stream_events",
  "webhooks",
  "webhook_deliveries",
] as const;
/** Attributes daprd adds on publish; a republished event gets its own. */
const DAPR_EXTENSIONS = ["topic", "pubsubname", "traceparent", "tracestate", "traceid", "expiration"];

describe("account deletion (task-api -> user-events -> audit-log, notifications)", () => {
  const stack = useStack({
    apps: ["task-api", "audit-log", "notifications", "recurring-tasks"],
    env: { notifications: { WEBHOOK_ALLOW_PRIVATE_TARGETS: "true", WEBHOOK_POLL_INTERVAL_MS: "500" } },
  });
  let pool: pg.Pool;
  let receiver: Receiver;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: stack().databaseUrl, max: 2 });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await receiver.close();
    await pool.end();
  });

  async function rowsNaming(userId: string): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of USER_TABLES) {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`,
        [userId],
      );
      counts[table] = rows[0]?.n ?? -1;
    }
    return counts;
  }
  const none = Object.fromEntries(USER_TABLES.map((t) => [t, 0]));

  it("when a user with tasks, history, reminders, stream events and a webhook deletes the account, then no row naming the user remains, their stream ends, and a redelivered task event records nothing", async () => {
    const s = stack();
    const api = s.urls["task-api"] ?? "";
    const notifications = s.urls.notifications ?? "";
    const user = await signUpThroughTaskApi(api);
    const auth = user.auth;
    const json = { ...auth, "content-type": "application/json" };

    const hook = await fetch(`${notifications}/v1/webhooks`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({
        url: receiver.url,
        eventTypes: [EVENT_TYPES.taskCreated, EVENT_TYPES.taskUpdated],
      }),
    });
    expect(hook.status, await hook.clone().text()).toBe(201);
    const stream = await openStream(`${notifications}/v1/stream`, auth);
    streams.push(stream);
    expect(stream.status).toBe(200);

    const taskIds: string[] = [];
    for (const title of ["Renew the passport", "Book the dentist"]) {
      const created = await fetch(`${api}/v1/tasks`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ title, remindAt: new Date(Date.now() + 24 * 3600_000).toISOString() }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      taskIds.push(((await created.json()) as { id: string }).id);
    }
    const updated = await fetch(`${api}/v1/tasks/${taskIds[0] ?? ""}`, {
      method: "PATCH",
      headers: json,
      body: JSON.stringify({ priority: "high" }),
    });
    expect(updated.status, await updated.clone().text()).toBe(200);

    // Everything has reached both services: history, reminders, stream events, webhook deliveries.
    await waitUntil(
      "the user's data in audit-log and notifications",
      async () => {
        const rows = await rowsNaming(user.id);
        return rows.audit_entries === 3 &&
          rows.reminders === 2 &&
          rows.stream_events === 3 &&
          rows.webhooks === 1 &&
          rows.webhook_deliveries === 3
          ? rows
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await stream.waitFor("the user's three events on the stream", (m) => m.length >= 3);
    // An event exactly as notifications received it, to deliver again after the deletion.
    const { rows: stored } = await pool.query<{ event: TaskEvent }>(
      `SELECT event FROM stream_events WHERE user_id = $1 AND type = $2 LIMIT 1`,
      [user.id, EVENT_TYPES.taskCreated],
    );
    const old = stored[0]?.event;
    expect(old?.data.userId).toBe(user.id);

    const deleted = await fetch(`${api}/v1/me`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${user.sessionToken}` },
    });
    expect(deleted.status, await deleted.clone().text()).toBe(204);

    const started = Date.now();
    await waitUntil(
      "no row naming the user",
      async () => {
        const rows = await rowsNaming(user.id);
        return Object.values(rows).every((n) => n === 0) ? rows : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    await stream.waitForEnd(20_000);
    // Both services keep only the tombstone: the id and the time.
    const { rows: tombstones } = await pool.query(
      `SELECT (SELECT count(*)::int FROM audit_deleted_users WHERE user_id = $1) AS audit,
              (SELECT count(*)::int FROM notification_deleted_users WHERE user_id = $1) AS notifications`,
      [user.id],
    );
    expect(tombstones).toEqual([{ audit: 1, notifications: 1 }]);

    // A redelivery: the user's old task.created again, under its own id, through task-api's
    // sidecar; then a marker of another user on the same key (task id), so the same partition
    // delivers the marker after it. Once the marker is in, the old event has been handled.
    if (!old) throw new Error("no stored event");
    const again = Object.fromEntries(Object.entries(old).filter(([key]) => !DAPR_EXTENSIONS.includes(key)));
    const markerUser = randomUUID();
    const marker = {
      ...again,
      id: randomUUID(),
      data: {
        ...old.data,
        userId: markerUser,
        actor: { kind: "user", id: markerUser },
        task: { ...old.data.task, userId: markerUser },
      },
    };
    const sidecar = createSidecarClient({ baseUrl: s.daprUrls["task-api"] ?? "", apiToken: s.daprApiToken });
    await sidecar.publish(PUBSUB_NAME, TOPICS.taskEvents, again as TaskEvent, {
      partitionKey: old.data.taskId,
    });
    await sidecar.publish(PUBSUB_NAME, TOPICS.taskEvents, marker as TaskEvent, {
      partitionKey: old.data.taskId,
    });
    await waitUntil(
      "the marker in audit-log and notifications",
      async () => {
        const rows = await rowsNaming(markerUser);
        return rows.audit_entries === 1 && rows.stream_events === 1 ? rows : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(await rowsNaming(user.id)).toEqual(none);
  });
});
