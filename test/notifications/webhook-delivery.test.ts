import { EVENT_TYPES, TASK_EVENT_TYPES, type TaskmeshEvent } from "@taskmesh/contracts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  systemResolver,
  type HostResolver,
} from "../../services/notifications/src/domain/webhook-target.guard.ts";
import type { Webhooks } from "../../services/notifications/src/compose.ts";
import type { TestUser } from "../support/task-api.ts";
import {
  reminderDueEvent,
  startWebhookHarness,
  taskCreatedEvent,
  waitFor,
  type WebhookHarness,
} from "./webhook-harness.ts";
import { startReceiver, verifyStandardWebhook, type Receiver } from "./webhook-receiver.ts";

interface DeliveryJson {
  id: string;
  eventId: string;
  eventType: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** Host names only this test's resolver knows; everything else goes to dns.lookup. */
const testHosts = new Map<string, string[]>();
const lookups: string[] = [];
const testResolver: HostResolver = async (hostname) => {
  lookups.push(hostname);
  const addresses = testHosts.get(hostname);
  if (!addresses) return systemResolver(hostname);
  return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
};

describe("webhook deliveries", () => {
  let h: WebhookHarness;
  const receivers: Receiver[] = [];
  const workers: Webhooks[] = [];

  beforeAll(async () => {
    h = await startWebhookHarness({ resolve: testResolver });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((m) => m.worker.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    // Nothing a test leaves pending reaches the next test's workers.
    await h.prisma.webhookDelivery.deleteMany({});
  });
  afterAll(async () => {
    await h.close();
  });

  async function receiver(respond?: Receiver["respond"]): Promise<Receiver> {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  }

  /** A replica with its own worker, started (stopped after the test). */
  function replica(...args: Parameters<WebhookHarness["replica"]>): Webhooks {
    const m = h.replica(...args);
    workers.push(m);
    m.worker.start();
    return m;
  }

  async function register(user: TestUser, url: string, eventTypes: readonly string[]) {
    const res = await h.request.post("/v1/webhooks").set(user.auth).send({ url, eventTypes }).expect(201);
    return res.body as { id: string; secret: string };
  }

  async function deliveryLog(user: TestUser, webhookId: string, query = ""): Promise<DeliveryJson[]> {
    const res = await h.request
      .get(`/v1/webhooks/${webhookId}/deliveries${query}`)
      .set(user.auth)
      .expect(200);
    return (res.body as { data: DeliveryJson[] }).data;
  }

  async function settled(user: TestUser, webhookId: string, count = 1): Promise<DeliveryJson[]> {
    return waitFor(`${count} settled deliveries of ${webhookId}`, async () => {
      const log = await deliveryLog(user, webhookId);
      return log.length === count && log.every((d) => d.status !== "pending") && log;
    });
  }

  it("when events fan out, then each subscribed webhook receives the CloudEvent once, signed per Standard Webhooks", async () => {
    const [user, other] = await Promise.all([h.signUp(), h.signUp()]);
    const [tasks, reminders, others] = await Promise.all([receiver(), receiver(), receiver()]);
    const taskHook = await register(user, tasks.url, TASK_EVENT_TYPES);
    const reminderHook = await register(user, reminders.url, [EVENT_TYPES.reminderDue]);
    const otherHook = await register(other, others.url, [...TASK_EVENT_TYPES, EVENT_TYPES.reminderDue]);

    const m = replica();
    const task = taskCreatedEvent(user.id);
    const reminder = reminderDueEvent(user.id);
    await m.plugin.fanOut(task);
    await m.plugin.fanOut(reminder);
    // Redelivered by the sidecar: queues nothing new.
    await m.plugin.fanOut(task);

    const [taskDelivery] = await settled(user, taskHook.id);
    const [reminderDelivery] = await settled(user, reminderHook.id);
    expect(taskDelivery).toMatchObject({
      eventId: task.id,
      eventType: EVENT_TYPES.taskCreated,
      status: "succeeded",
      attempts: 1,
      lastStatusCode: 204,
      lastError: null,
      nextAttemptAt: null,
    });
    expect(reminderDelivery).toMatchObject({ eventId: reminder.id, status: "succeeded", attempts: 1 });
    expect(await deliveryLog(other, otherHook.id)).toEqual([]);
    expect(tasks.requests).toHaveLength(1);
    expect(reminders.requests).toHaveLength(1);

    const cases: [Receiver, { secret: string }, DeliveryJson | undefined, TaskmeshEvent][] = [
      [tasks, taskHook, taskDelivery, task],
      [reminders, reminderHook, reminderDelivery, reminder],
    ];
    for (const [r, hook, delivery, event] of cases) {
      const [request] = r.requests;
      if (!request || !delivery) throw new Error("missing request");
      expect(request.method).toBe("POST");
      expect(request.url).toBe("/hooks/taskmesh");
      expect(request.headers["content-type"]).toBe("application/cloudevents+json; charset=utf-8");
      expect(request.headers["user-agent"]).toMatch(/^taskmesh-webhooks\//);
      expect(request.headers["webhook-id"]).toBe(delivery.id);
      const timestamp = String(request.headers["webhook-timestamp"]);
      expect(timestamp).toMatch(/^\d+$/);
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(300);
      expect(
        verifyStandardWebhook(
          hook.secret,
          delivery.id,
          timestamp,
          request.body,
          String(request.headers["webhook-signature"]),
        ),
      ).toBe(true);
      const { topic: _t, pubsubname: _p, traceparent: _tp, ...expected } = event as Record<string, unknown>;
      expect(JSON.parse(request.body)).toEqual(expected);
    }
  });

  it("when the receiver answers 500 twice, then the delivery is retried with growing delays and succeeds", async () => {
    const user = await h.signUp();
    const r = await receiver((_req, i) => (i < 2 ? 500 : 204));
    const hook = await register(user, r.url, [EVENT_TYPES.taskCreated]);
    const m = replica({ retryBaseMs: 200 });
    await m.plugin.fanOut(taskCreatedEvent(user.id));

    const [delivery] = await settled(user, hook.id);
    expect(delivery).toMatchObject({
      status: "succeeded",
      attempts: 3,
      lastStatusCode: 204,
      lastError: null,
      completedAt: expect.any(String) as string,
    });
    expect(r.requests).toHaveLength(3);
    // Same delivery id on every attempt (the receiver's idempotency key); each attempt signed anew.
    for (const request of r.requests) {
      expect(request.headers["webhook-id"]).toBe(delivery?.id);
      expect(
        verifyStandardWebhook(
          hook.secret,
          String(request.headers["webhook-id"]),
          String(request.headers["webhook-timestamp"]),
          request.body,
          String(request.headers["webhook-signature"]),
        ),
      ).toBe(true);
    }
    const [first, second, third] = r.requests.map((q) => q.receivedAt) as [number, number, number];
    // Lower bounds only (base ×5 per attempt, -20% jitter): a slow machine can only make gaps longer.
    expect(second - first).toBeGreaterThanOrEqual(160);
    expect(third - second).toBeGreaterThanOrEqual(800);
  });

  it("when the receiver keeps failing, then the delivery is failed after the last attempt, with the last status", async () => {
    const user = await h.signUp();
    const r = await receiver(() => 503);
    const hook = await register(user, r.url, [EVENT_TYPES.reminderDue]);
    const m = replica({ maxAttempts: 3, retryBaseMs: 50 });
    const event = reminderDueEvent(user.id);
    await m.plugin.fanOut(event);

    const [delivery] = await settled(user, hook.id);
    expect(delivery).toEqual({
      id: expect.any(String) as string,
      eventId: event.id,
      eventType: EVENT_TYPES.reminderDue,
      status: "failed",
      attempts: 3,
      nextAttemptAt: null,
      lastStatusCode: 503,
      lastError: "HTTP 503 Service Unavailable (gave up after 3 attempts)",
      createdAt: expect.any(String) as string,
      completedAt: expect.any(String) as string,
    });
    expect(r.requests).toHaveLength(3);
    expect(await deliveryLog(user, hook.id, "?status=failed")).toHaveLength(1);
    expect(await deliveryLog(user, hook.id, "?status=succeeded")).toHaveLength(0);
  });

  it("when the receiver does not answer in time, refuses connections or answers 410, then each is recorded", async () => {
    const user = await h.signUp();
    const hanging = await receiver(() => "hang");
    const gone = await receiver(() => 410);
    const closed = await receiver();
    await closed.close();
    const slowHook = await register(user, hanging.url, [EVENT_TYPES.taskCreated]);
    const goneHook = await register(user, gone.url, [EVENT_TYPES.taskCreated]);
    const closedHook = await register(user, closed.url, [EVENT_TYPES.taskCreated]);
    const m = replica({ timeoutMs: 300, maxAttempts: 2, retryBaseMs: 50 });
    await m.plugin.fanOut(taskCreatedEvent(user.id));

    const [slow] = await settled(user, slowHook.id);
    expect(slow).toMatchObject({
      status: "failed",
      attempts: 2,
      lastStatusCode: null,
      lastError: "no response within 300 ms (gave up after 2 attempts)",
    });
    const [goneDelivery] = await settled(user, goneHook.id);
    expect(goneDelivery).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: 410 });
    expect(goneDelivery?.lastError).toMatch(/^HTTP 410 Gone/);
    expect(gone.requests).toHaveLength(1);
    const [refused] = await settled(user, closedHook.id);
    expect(refused).toMatchObject({ status: "failed", attempts: 2, lastStatusCode: null });
    expect(refused?.lastError).toMatch(/ECONNREFUSED/);
  });

  it("when a webhook's target is private at delivery time, then it is refused without a request", async () => {
    const user = await h.signUp();
    const r = await receiver();
    testHosts.set("rebind.test", ["127.0.0.1"]);
    // Accepted at registration (private targets allowed there)...
    const direct = await register(user, r.url, [EVENT_TYPES.taskCreated]);
    const byName = await register(user, `http://localhost:${r.port}/hook`, [EVENT_TYPES.taskCreated]);
    const rebound = await register(user, `http://rebind.test:${r.port}/hook`, [EVENT_TYPES.taskCreated]);
    // ...but this replica does not allow them, and its DNS now answers a public and a private address.
    const strictResolver: HostResolver = (hostname) =>
      hostname === "rebind.test"
        ? Promise.resolve([
            { address: "93.184.215.14", family: 4 },
            { address: "127.0.0.1", family: 4 },
          ])
        : systemResolver(hostname);
    const m = replica({ allowPrivateTargets: false }, strictResolver);
    await m.plugin.fanOut(taskCreatedEvent(user.id));

    const [a] = await settled(user, direct.id);
    const [b] = await settled(user, byName.id);
    const [c] = await settled(user, rebound.id);
    expect(a).toMatchObject({ status: "failed", attempts: 1, lastStatusCode: null });
    expect(a?.lastError).toBe(
      "refused: the URL is 127.0.0.1, a loopback address; webhook targets must be public",
    );
    expect(b?.lastError).toMatch(
      /^refused: the URL host localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
    expect(c?.lastError).toMatch(/^refused: the URL host rebind\.test resolves to 127\.0\.0\.1/);
    expect(r.requests).toHaveLength(0);
  });

  it("when the host resolves, then the request goes to the checked address with the host name kept", async () => {
    const user = await h.signUp();
    const r = await receiver();
    // Only the test resolver knows this name: a second resolution by the HTTP client would fail.
    testHosts.set("pinned.test", ["127.0.0.1"]);
    const hook = await register(user, `http://pinned.test:${r.port}/hook?x=1`, [EVENT_TYPES.taskCreated]);
    const m = h.replica({}, testResolver);
    workers.push(m);
    m.worker.start();
    const before = lookups.filter((l) => l === "pinned.test").length;
    await m.plugin.fanOut(taskCreatedEvent(user.id));

    const [delivery] = await settled(user, hook.id);
    expect(delivery).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(r.requests[0]?.headers.host).toBe(`pinned.test:${r.port}`);
    expect(r.requests[0]?.url).toBe("/hook?x=1");
    expect(lookups.filter((l) => l === "pinned.test").length - before).toBe(1);
  });

  it("when two replicas deliver, then every delivery is sent once, and the log pages through all of them", async () => {
    const user = await h.signUp();
    const r = await receiver();
    const hook = await register(user, r.url, [EVENT_TYPES.taskCreated]);
    const events = Array.from({ length: 12 }, () => taskCreatedEvent(user.id));
    const a = h.replica({ concurrency: 2 });
    const b = h.replica({ concurrency: 2 });
    workers.push(a, b);
    for (const event of events) await a.plugin.fanOut(event);
    a.worker.start();
    b.worker.start();

    await settled(user, hook.id, 12);
    const ids = r.requests.map((q) => String(q.headers["webhook-id"]));
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);

    const seen: DeliveryJson[] = [];
    let cursor: string | null = null;
    do {
      const query = `?limit=5&status=succeeded${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await h.request
        .get(`/v1/webhooks/${hook.id}/deliveries${query}`)
        .set(user.auth)
        .expect(200);
      const body = res.body as { data: DeliveryJson[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(5);
      seen.push(...body.data);
      if (cursor === null && body.nextCursor) {
        // A cursor belongs to its filter.
        await h.request
          .get(`/v1/webhooks/${hook.id}/deliveries?cursor=${body.nextCursor}`)
          .set(user.auth)
          .expect(400);
      }
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen.map((d) => d.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    // Newest first.
    const created = seen.map((d) => d.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it("when the worker stops mid-attempt, then the delivery is given back unattempted and the next worker sends it", async () => {
    const user = await h.signUp();
    let answer: number | "hang" = "hang";
    const r = await receiver(() => answer);
    const hook = await register(user, r.url, [EVENT_TYPES.taskCreated]);
    const first = h.replica();
    first.worker.start();
    await first.plugin.fanOut(taskCreatedEvent(user.id));
    await waitFor("the first attempt to arrive", () => r.requests.length === 1);
    await first.worker.stop();

    const [pending] = await deliveryLog(user, hook.id);
    expect(pending).toMatchObject({ status: "pending", attempts: 0, lastError: null });
    answer = 204;
    replica();
    const [delivery] = await settled(user, hook.id);
    expect(delivery).toMatchObject({ status: "succeeded", attempts: 1 });
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1]?.headers["webhook-id"]).toBe(r.requests[0]?.headers["webhook-id"]);
  });

  it("when a webhook is deleted, then its pending deliveries go with it", async () => {
    const user = await h.signUp();
    const r = await receiver();
    const hook = await register(user, r.url, [EVENT_TYPES.taskCreated]);
    await h.webhooks.plugin.fanOut(taskCreatedEvent(user.id));
    expect(await h.prisma.webhookDelivery.count({ where: { webhookId: hook.id } })).toBe(1);
    await h.request.delete(`/v1/webhooks/${hook.id}`).set(user.auth).expect(204);
    expect(await h.prisma.webhookDelivery.count({ where: { webhookId: hook.id } })).toBe(0);
  });
});
