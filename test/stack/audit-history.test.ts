/**
 * audit-log through the real sidecars and Kafka: task events published by task-api's sidecar
 * reach audit-log as bulk deliveries (its subscription has bulkSubscribe) and are recorded once;
 * task-api reads a history through service invocation (mTLS, configuration.yaml's access
 * policy); and a task's life through task-api's REST API (outbox -> relay -> Kafka -> audit-log)
 * comes back from `GET /v1/tasks/:id/history`.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES, PUBSUB_NAME, TOPICS, type HistoryPage, type TaskEvent } from "@taskmesh/contracts";
import { createSidecarClient } from "@taskmesh/dapr";
import { createPrismaClient, type PrismaClient } from "@taskmesh/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { snapshot, taskEvent } from "../audit-log/audit-log.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack, type TestStack } from "../support/stack.ts";

/** A counter's value from audit-log's /metrics (summed over labels). */
async function metric(s: TestStack, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${s.opsUrls["audit-log"]}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes(labels))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

describe("audit-log through real sidecars and Kafka", () => {
  const stack = useStack({ apps: ["task-api", "audit-log"] });
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ connectionString: stack().databaseUrl, poolMax: 2 });
  });
  afterAll(async () => {
    await prisma.$disconnect();
  });

  it("when task events are published twice through task-api's sidecar, then audit-log gets them in bulk deliveries and records each once", async () => {
    const s = stack();
    const sidecar = createSidecarClient({ baseUrl: s.daprUrls["task-api"] ?? "", apiToken: s.daprApiToken });
    const userId = randomUUID();
    const events: TaskEvent[] = [];
    for (let t = 0; t < 40; t++) {
      const taskId = randomUUID();
      const v1 = snapshot({ id: taskId, userId });
      const v2 = { ...v1, title: "Renamed", version: 2 };
      events.push(
        taskEvent(EVENT_TYPES.taskCreated, { task: v1 }),
        taskEvent(EVENT_TYPES.taskUpdated, {
          task: v2,
          changes: { title: { from: v1.title, to: v2.title } },
        }),
        taskEvent(EVENT_TYPES.taskDeleted, { task: v2 }),
      );
    }
    const entries = events.map((event, i) => ({
      entryId: String(i),
      event,
      partitionKey: event.data.taskId,
    }));
    const deliveriesBefore = await metric(
      s,
      "http_request_duration_seconds_count",
      'route="/events/task-events"',
    );
    const duplicatesBefore = await metric(s, "audit_log_duplicate_events_suppressed_total");

    expect(await sidecar.bulkPublish(PUBSUB_NAME, TOPICS.taskEvents, entries)).toEqual([]);
    await waitUntil(
      "every event recorded",
      async () =>
        (await prisma.auditEntry.count({ where: { userId } })) === events.length ? true : undefined,
      { timeoutMs: 60_000 },
    );
    // The same events again (a relay that crashed before marking them sent).
    expect(await sidecar.bulkPublish(PUBSUB_NAME, TOPICS.taskEvents, entries)).toEqual([]);
    await waitUntil(
      "every redelivery suppressed",
      async () =>
        (await metric(s, "audit_log_duplicate_events_suppressed_total")) - duplicatesBefore === events.length
          ? true
          : undefined,
      { timeoutMs: 60_000 },
    );

    const recorded = await prisma.auditEntry.findMany({ where: { userId }, orderBy: { eventId: "asc" } });
    expect(recorded.map((r) => r.eventId)).toEqual(events.map((e) => e.id).sort());
    const deliveries =
      (await metric(s, "http_request_duration_seconds_count", 'route="/events/task-events"')) -
      deliveriesBefore;
    // Bulk subscribe: fewer requests than events (one request per event without it).
    expect(deliveries).toBeGreaterThan(0);
    expect(deliveries).toBeLessThan(events.length);
  });

  it("when task-api's sidecar invokes audit-log's history route, then the access policy lets it through, and nothing else of audit-log", async () => {
    const s = stack();
    const userId = randomUUID();
    const task = snapshot({ id: randomUUID(), userId });
    const created = taskEvent(EVENT_TYPES.taskCreated, { task });
    const fromTaskApi = createSidecarClient({
      baseUrl: s.daprUrls["task-api"] ?? "",
      apiToken: s.daprApiToken,
    });
    await fromTaskApi.publish(PUBSUB_NAME, TOPICS.taskEvents, created, { partitionKey: task.id });

    const page = await waitUntil(
      "the history holds the event",
      async () => {
        const res = await fromTaskApi.invoke("audit-log", `internal/tasks/${task.id}/history`, {
          query: `userId=${encodeURIComponent(userId)}`,
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as HistoryPage;
        return body.data.length > 0 ? body : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(page).toEqual({
      data: [
        {
          eventId: created.id,
          type: EVENT_TYPES.taskCreated,
          sequence: 1,
          occurredAt: created.data.occurredAt,
          actor: { kind: "user", id: userId },
          changes: {},
        },
      ],
      nextCursor: null,
    });

    // Nothing else of audit-log is open to task-api.
    const outside = await fromTaskApi.invoke("audit-log", "metrics");
    expect(outside.status, await outside.clone().text()).toBe(403);
  });

  it("when a task is created, updated, completed, reopened and deleted through task-api's REST API, then GET /v1/tasks/:id/history returns each change in order", async () => {
    const s = stack();
    const api = s.urls["task-api"] ?? "";
    const { token, id: userId } = await signUpThroughTaskApi(api);
    /** Calls task-api as the user; expects success and answers the parsed body (undefined when empty). */
    const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      const res = await fetch(`${api}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      expect(res.status, `${method} ${path}: ${text}`).toBeLessThan(300);
      return text === "" ? undefined : (JSON.parse(text) as unknown);
    };

    const task = (await call("POST", "/v1/tasks", { title: "Water the plants" })) as { id: string };
    await call("PATCH", `/v1/tasks/${task.id}`, { title: "Water all the plants", priority: "high" });
    await call("POST", `/v1/tasks/${task.id}/complete`);
    await call("POST", `/v1/tasks/${task.id}/reopen`);
    await call("DELETE", `/v1/tasks/${task.id}`);

    // The history of a deleted task stays readable by its owner.
    const history = await waitUntil(
      "five history entries",
      async () => {
        const res = await fetch(`${api}/v1/tasks/${task.id}/history`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as HistoryPage;
        return body.data.length === 5 ? body : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const items = history.data;
    expect(items.map((i) => [i.type, i.sequence])).toEqual([
      [EVENT_TYPES.taskCreated, 1],
      [EVENT_TYPES.taskUpdated, 2],
      [EVENT_TYPES.taskCompleted, 3],
      [EVENT_TYPES.taskReopened, 4],
      [EVENT_TYPES.taskDeleted, 5],
    ]);
    for (const item of items) expect(item.actor).toEqual({ kind: "user", id: userId });
    expect(items[0]?.changes).toEqual({});
    expect(items[1]?.changes).toEqual({
      title: { from: "Water the plants", to: "Water all the plants" },
      priority: { from: expect.any(String) as unknown, to: "high" },
    });
    expect(items[2]?.changes).toMatchObject({
      completed: { from: false, to: true },
      completedAt: { from: null, to: expect.any(String) as unknown },
    });
    expect(items[3]?.changes).toMatchObject({
      completed: { from: true, to: false },
      completedAt: { from: expect.any(String) as unknown, to: null },
    });
    expect(items[4]?.changes).toEqual({});
    const times = items.map((i) => Date.parse(i.occurredAt));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // Another user learns nothing of it, not even that it exists.
    const mallory = await signUpThroughTaskApi(api);
    const foreign = await fetch(`${api}/v1/tasks/${task.id}/history`, {
      headers: { authorization: `Bearer ${mallory.token}` },
    });
    expect(foreign.status).toBe(404);
  });
});
