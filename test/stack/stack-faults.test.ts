/**
 * The harness's fault controls (test/support/stack.ts) do what fault tests rely on: a killed
 * sidecar, a killed app and a restarted broker come back, and after waitForConsumers() a
 * message published through task-api's sidecar is consumed again (proved end to end by a
 * poison event that the consumer drops and its sidecar puts on the dead-letter topic).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { DEAD_LETTER_TOPICS, EVENT_SOURCES, EVENT_TYPES, PUBSUB_NAME, TOPICS } from "@taskmesh/contracts";
import { describe, expect, it } from "vitest";
import { readTopicUntil } from "../support/kafka.ts";
import { useStack, type TestStack } from "../support/stack.ts";

const root = path.resolve(import.meta.dirname, "../..");
const present = (name: string): boolean => existsSync(path.join(root, "services", name, "src/main.ts"));

/** Publishes an event audit-log must drop and waits until its sidecar dead-letters it. */
async function roundTrip(s: TestStack): Promise<void> {
  const id = `probe-${randomUUID()}`;
  const res = await fetch(`${s.daprUrls["task-api"]}/v1.0/publish/${PUBSUB_NAME}/${TOPICS.taskEvents}`, {
    method: "POST",
    headers: { "content-type": "application/cloudevents+json", "dapr-api-token": s.daprApiToken },
    body: JSON.stringify({
      specversion: "1.0",
      id,
      source: EVENT_SOURCES.taskApi,
      type: EVENT_TYPES.taskUpdated,
      datacontenttype: "application/json",
      data: { probe: true },
    }),
  });
  expect(res.status).toBe(204);
  await readTopicUntil(
    s.kafkaBrokers,
    DEAD_LETTER_TOPICS[TOPICS.taskEvents],
    (r) => (r.json as { id?: string } | undefined)?.id === id,
    { timeoutMs: 90_000 },
  );
}

describe.skipIf(!present("audit-log"))("stack fault controls", () => {
  const stack = useStack({ apps: ["task-api", "audit-log"] });

  it("when the consumer's sidecar is killed -9 and restarted, then delivery resumes", async () => {
    const s = stack();
    await s.kill("audit-log", "sidecar");
    await s.restart("audit-log", "sidecar");
    await s.waitForConsumers();
    await roundTrip(s);
  }, 180_000);

  it("when the consumer app is killed -9 and restarted, then it is ready again and consumes", async () => {
    const s = stack();
    await s.kill("audit-log", "app");
    await s.restart("audit-log", "app");
    expect((await fetch(`${s.urls["audit-log"]}/readyz`)).status).toBe(200);
    await roundTrip(s);
  }, 180_000);

  it("when the broker restarts, then publishing and delivery resume", async () => {
    const s = stack();
    await s.restartBroker();
    await s.waitForConsumers();
    await roundTrip(s);
  }, 180_000);
});
