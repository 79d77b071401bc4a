/**
 * bench:events' baseline: the same pipeline without Dapr, as two processes like task-api and
 * audit-log, on the same broker and database schema.
 *
 *   relay     task-api's own outbox relay (createOutboxRelay: claim, per-key waves, settle),
 *             whose "sidecar" is a kafkajs producer: publish = one send of one record,
 *             bulkPublish = one send of the whole group. Records are the CloudEvent with the
 *             attributes daprd adds (topic, pubsubname, trace ids), keyed by task id, acks=all,
 *             no compression (pubsub.kafka's producer settings), so sizes and keys match.
 *   consumer  a kafkajs consumer group that parses each record against the contract and records
 *             it with audit-log's own use case and repository (one INSERT per event, or per
 *             batch of up to BULK_MAX_MESSAGES in bulk mode); one message in flight per partition
 *             without bulk, as daprd delivers.
 *
 * Run by scripts/bench/events.ts: `node --import tsx scripts/bench/direct-pipeline.ts relay|consumer`.
 * Prints "ready" once connected (the consumer: once it has joined its group).
 */
import { randomBytes } from "node:crypto";
import {
  PUBSUB_NAME,
  TASK_EVENT_TYPES,
  parseEvent,
  type CloudEvent,
  type TaskEvent,
} from "@taskmesh/contracts";
import { createLogger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import { createPool } from "@taskmesh/db";
import { Kafka, logLevel, type Producer } from "kafkajs";
import pg from "pg";
import { createAuditEntryRepository } from "../../services/audit-log/src/data/audit-entry.repository.ts";
import { createRecordTaskEvents } from "../../services/audit-log/src/domain/record-task-events.use-case.ts";
import { createOutboxRelay } from "../../services/task-api/src/workers/outbox-relay.worker.ts";

const role = process.argv[2];
const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const databaseUrl = env("DATABASE_URL");
const brokers = env("KAFKA_BROKERS").split(",");
const topic = env("DIRECT_TOPIC");
const bulk = env("BULK", "false") === "true";
const logger = createLogger({ service: `direct-${role ?? "?"}`, level: "warn" });
const kafka = new Kafka({ clientId: `bench-direct-${role ?? "?"}`, brokers, logLevel: logLevel.ERROR });

/** What daprd adds to a published CloudEvent before it goes to Kafka (so record sizes match). */
function asDaprWouldWrite(event: CloudEvent<unknown>, daprTopic: string): string {
  const traceId = randomBytes(16).toString("hex");
  return JSON.stringify({
    ...event,
    pubsubname: PUBSUB_NAME,
    topic: daprTopic,
    traceid: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
    traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
    tracestate: "",
  });
}

function kafkaSidecar(producer: Producer): SidecarClient {
  const unsupported = (): never => {
    throw new Error("not part of the baseline");
  };
  return {
    async publish(_pubsub, daprTopic, event, options = {}) {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: options.partitionKey ?? null, value: asDaprWouldWrite(event, daprTopic) }],
      });
    },
    async bulkPublish(_pubsub, daprTopic, entries) {
      await producer.send({
        topic,
        acks: -1,
        messages: entries.map((e) => ({
          key: e.partitionKey ?? null,
          value: asDaprWouldWrite(e.event, daprTopic),
        })),
      });
      return [];
    },
    invoke: unsupported,
    getState: unsupported,
    saveState: unsupported,
    deleteState: unsupported,
  };
}

async function runRelay(): Promise<() => Promise<void>> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const relay = createOutboxRelay({
    pool,
    sidecar: kafkaSidecar(producer),
    pubsub: PUBSUB_NAME,
    logger,
    batchSize: Number(env("OUTBOX_BATCH_SIZE", "250")),
    bulkPublish: bulk,
    publishConcurrency: Number(env("OUTBOX_PUBLISH_CONCURRENCY", "32")),
    pollIntervalMs: Number(env("OUTBOX_POLL_INTERVAL_MS", "10")),
  });
  relay.start();
  return async () => {
    await relay.stop();
    await producer.disconnect();
    await pool.end();
  };
}

async function runConsumer(): Promise<() => Promise<void>> {
  const auditPool = createPool({
    connectionString: databaseUrl,
    max: 10,
    onConnectionError: () => undefined,
  });
  const record = createRecordTaskEvents(createAuditEntryRepository(auditPool));
  const maxBatch = Number(env("BULK_MAX_MESSAGES", "100"));
  const consumer = kafka.consumer({ groupId: env("GROUP_ID"), allowAutoTopicCreation: false });
  const parse = (value: Buffer | null): TaskEvent => {
    const parsed = parseEvent(JSON.parse(value?.toString("utf8") ?? "null"), TASK_EVENT_TYPES);
    if (!parsed.ok) throw new Error(`invalid event: ${parsed.message}`);
    return parsed.event;
  };
  const joined = new Promise<void>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => {
      resolve();
    });
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: Number(env("PARTITIONS_CONCURRENCY", "6")),
    ...(bulk
      ? {
          eachBatch: async (payload) => {
            const { batch } = payload;
            for (let i = 0; i < batch.messages.length; i += maxBatch) {
              const chunk = batch.messages.slice(i, i + maxBatch);
              await record(chunk.map((m) => parse(m.value)));
              const last = chunk.at(-1);
              if (last) payload.resolveOffset(last.offset);
              await payload.heartbeat();
            }
          },
        }
      : {
          eachMessage: async ({ message }) => {
            await record([parse(message.value)]);
          },
        }),
  });
  await joined;
  return async () => {
    await consumer.disconnect();
    await auditPool.end();
  };
}

async function main(): Promise<void> {
  if (role !== "relay" && role !== "consumer") throw new Error("usage: direct-pipeline.ts relay|consumer");
  const stop = role === "relay" ? await runRelay() : await runConsumer();
  process.stdout.write("ready\n");
  process.once("SIGTERM", () => {
    void stop().finally(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `direct ${role ?? "?"} failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
