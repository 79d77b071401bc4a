/**
 * A poison message, through the real sidecars and broker: published to task-events through
 * task-api's sidecar, refused by the consumer (DROP, logged), and put on
 * task-events.dead-letter by the consumer's sidecar.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { DEAD_LETTER_TOPICS, EVENT_SOURCES, EVENT_TYPES, PUBSUB_NAME, TOPICS } from "@taskmesh/contracts";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../../scripts/stack/index.ts";
import { readTopicUntil } from "../support/kafka.ts";
import { useStack } from "../support/stack.ts";

const root = path.resolve(import.meta.dirname, "../..");
const present = (name: string): boolean => existsSync(path.join(root, "services", name, "src/main.ts"));

describe.skipIf(!present("audit-log"))("dead-letter topic (task-api -> Kafka -> audit-log)", () => {
  const stack = useStack({ apps: ["task-api", "audit-log"] });

  it("when a task event breaks its contract, then the consumer drops it, logs why, and its sidecar puts it on task-events.dead-letter", async () => {
    const s = stack();
    const id = `poison-${randomUUID()}`;
    const taskId = randomUUID();
    // A known type with data that breaks the contract: nothing can ever process it.
    const poison = {
      specversion: "1.0",
      id,
      source: EVENT_SOURCES.taskApi,
      type: EVENT_TYPES.taskCreated,
      datacontenttype: "application/json",
      time: new Date().toISOString(),
      data: { taskId, garbage: true },
    };
    const published = await fetch(
      `${s.daprUrls["task-api"]}/v1.0/publish/${PUBSUB_NAME}/${TOPICS.taskEvents}?metadata.partitionKey=${taskId}`,
      {
        method: "POST",
        headers: { "content-type": "application/cloudevents+json", "dapr-api-token": s.daprApiToken },
        body: JSON.stringify(poison),
      },
    );
    expect(published.status).toBe(204);

    const records = await readTopicUntil(
      s.kafkaBrokers,
      DEAD_LETTER_TOPICS[TOPICS.taskEvents],
      (r) => (r.json as { id?: string } | undefined)?.id === id,
      { timeoutMs: 60_000 },
    );
    const dead = records.at(-1);
    expect(dead?.key).toBe(taskId);
    expect(dead?.json).toMatchObject({ id, type: EVENT_TYPES.taskCreated, data: { taskId, garbage: true } });

    // The consumer said why (pino JSON line with the event id).
    const line = await waitUntil(
      "audit-log logs the drop",
      () =>
        Promise.resolve(
          s
            .logs("audit-log")
            .split("\n")
            .find((l) => l.includes(id) && /drop/i.test(l)),
        ),
      { timeoutMs: 10_000 },
    );
    expect(line).toMatch(/invalid-data|breaks its contract/);
  });
});
