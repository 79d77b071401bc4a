import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners, type IHeaders } from "kafkajs";

/** One record as read from a topic. */
export interface TopicRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  /** value as UTF-8 text ("" when null). */
  text: string;
  /** value parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

function client(brokers: string): Kafka {
  return new Kafka({
    clientId: `taskmesh-test-${randomUUID().slice(0, 8)}`,
    brokers: brokers.split(","),
    logLevel: logLevel.NOTHING,
  });
}

function headersOf(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers ?? {}).flatMap(([k, v]) =>
      v === undefined ? [] : [[k, Array.isArray(v) ? v.map(String).join(",") : String(v)]],
    ),
  );
}

/**
 * Reads `topic` from the beginning (a consumer group of its own, so nothing else is
 * affected) until `until` returns true for a record; resolves with every record read so
 * far (the matching one last). Rejects after `timeoutMs` with what it saw.
 */
export async function readTopicUntil(
  brokers: string,
  topic: string,
  until: (record: TopicRecord) => boolean,
  options: { timeoutMs?: number } = {},
): Promise<TopicRecord[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const consumer = client(brokers).consumer({
    groupId: `taskmesh-test-reader-${randomUUID()}`,
    // Fast join: a reader group has one member.
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
  });
  const seen: TopicRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<TopicRecord[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `no matching record on ${topic} within ${timeoutMs / 1000} s; read ${seen.length}: ${seen
              .slice(-5)
              .map((r) => r.text.slice(0, 300))
              .join(" | ")}`,
          ),
        );
      }, timeoutMs);
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            const text = message.value?.toString("utf8") ?? "";
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            const record: TopicRecord = {
              topic: t,
              partition,
              offset: message.offset,
              key: message.key?.toString("utf8") ?? null,
              value: message.value,
              headers: headersOf(message.headers),
              text,
              json,
            };
            seen.push(record);
            if (until(record)) {
              clearTimeout(timer);
              resolve([...seen]);
            }
            return Promise.resolve();
          },
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Publishes raw bytes (no CloudEvent envelope, no Dapr) straight to the broker. */
export async function publishRaw(
  brokers: string,
  topic: string,
  message: {
    value: Buffer | string | null;
    key?: string;
    headers?: Record<string, string>;
    partition?: number;
  },
): Promise<{ partition: number; offset: string }> {
  const producer = client(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const [result] = await producer.send({
      topic,
      messages: [
        {
          value: message.value,
          ...(message.key !== undefined ? { key: message.key } : {}),
          ...(message.headers ? { headers: message.headers } : {}),
          ...(message.partition !== undefined ? { partition: message.partition } : {}),
        },
      ],
    });
    return { partition: result?.partition ?? -1, offset: result?.baseOffset ?? "-1" };
  } finally {
    await producer.disconnect();
  }
}
