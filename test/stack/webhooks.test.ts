/**
 * Webhooks through the real stack: a task event (task-api's outbox -> its sidecar -> Kafka ->
 * notifications' sidecar) and a reminder (cron binding tick -> reminder.due published and
 * consumed back through Kafka) reach a webhook registered through notifications' API, as
 * signed Standard Webhooks requests to a real HTTP receiver.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack } from "../support/stack.ts";
import {
  startReceiver,
  verifyStandardWebhook,
  type ReceivedRequest,
  type Receiver,
} from "../notifications/webhook-receiver.ts";

const root = path.resolve(import.meta.dirname, "../..");
const present = (name: string): boolean => existsSync(path.join(root, "services", name, "src/main.ts"));

interface Envelope {
  id: string;
  type: string;
  data: { taskId: string; userId: string };
}

describe.skipIf(!present("notifications"))(
  "webhooks (task-api -> Kafka -> notifications -> receiver)",
  () => {
    const stack = useStack({
      apps: ["task-api", "notifications"],
      // The receiver is on 127.0.0.1; the SSRF guard would (rightly) refuse it otherwise.
      env: { notifications: { WEBHOOK_ALLOW_PRIVATE_TARGETS: "true", WEBHOOK_POLL_INTERVAL_MS: "500" } },
    });
    let receiver: Receiver | undefined;

    beforeAll(async () => {
      receiver = await startReceiver();
    });
    afterAll(async () => {
      await receiver?.close();
    });

    function received(taskId: string, type: string): ReceivedRequest | undefined {
      return receiver?.requests.find((r) => {
        const event = JSON.parse(r.body) as Envelope;
        return event.type === type && event.data.taskId === taskId;
      });
    }

    it("when a user with a webhook creates a task with a reminder, then task.created and reminder.due reach the webhook, signed", async () => {
      const s = stack();
      const api = s.urls["task-api"] ?? "";
      const notifications = s.urls.notifications ?? "";
      const user = await signUpThroughTaskApi(api);
      const auth = { authorization: `Bearer ${user.token}` };

      // notifications verifies the token with task-api's keys, fetched through its sidecar.
      const registered = await fetch(`${notifications}/v1/webhooks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          url: receiver?.url,
          eventTypes: [EVENT_TYPES.taskCreated, EVENT_TYPES.reminderDue],
        }),
      });
      expect(registered.status, await registered.clone().text()).toBe(201);
      const hook = (await registered.json()) as { id: string; secret: string };

      const created = await fetch(`${api}/v1/tasks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          title: "Call the plumber",
          remindAt: new Date(Date.now() + 1000).toISOString(),
        }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const task = (await created.json()) as { id: string };

      const taskRequest = await waitUntil(
        "task.created at the receiver",
        () => Promise.resolve(received(task.id, EVENT_TYPES.taskCreated)),
        { timeoutMs: 60_000 },
      );
      // The cron binding ticks every 30 s: the reminder fires on the first tick after remindAt.
      const reminderRequest = await waitUntil(
        "reminder.due at the receiver",
        () => Promise.resolve(received(task.id, EVENT_TYPES.reminderDue)),
        { timeoutMs: 120_000 },
      );

      for (const request of [taskRequest, reminderRequest]) {
        expect(request.headers["content-type"]).toBe("application/cloudevents+json; charset=utf-8");
        expect(
          verifyStandardWebhook(
            hook.secret,
            String(request.headers["webhook-id"]),
            String(request.headers["webhook-timestamp"]),
            request.body,
            String(request.headers["webhook-signature"]),
          ),
        ).toBe(true);
        const event = JSON.parse(request.body) as Envelope & Record<string, unknown>;
        expect(event.data.userId).toBe(user.id);
        // Dapr's routing and tracing attributes stay inside.
        expect(event).not.toHaveProperty("pubsubname");
        expect(event).not.toHaveProperty("traceparent");
      }

      const log = await waitUntil(
        "both deliveries logged as succeeded",
        async () => {
          const res = await fetch(`${notifications}/v1/webhooks/${hook.id}/deliveries`, { headers: auth });
          const body = (await res.json()) as {
            data: { eventType: string; status: string; webhookId?: string }[];
          };
          return body.data.length === 2 && body.data.every((d) => d.status === "succeeded")
            ? body.data
            : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(log.map((d) => d.eventType).sort()).toEqual(
        [EVENT_TYPES.reminderDue, EVENT_TYPES.taskCreated].sort(),
      );
    }, 240_000);
  },
);
