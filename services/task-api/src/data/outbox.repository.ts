import type { Prisma } from "@taskmesh/db";
import { v7 as uuidv7 } from "uuid";
import type { Tx } from "./database.ts";

/** An event to publish, written in the same transaction as the change it describes. */
export interface OutboxMessage {
  topic: string;
  type: string;
  partitionKey: string;
  data: Prisma.InputJsonValue;
}

/** One statement for any number of events (ids are UUIDv7: the relay publishes in id order). */
export async function appendToOutbox(tx: Tx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO outbox_events (id, topic, type, partition_key, data)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    messages.map(() => uuidv7()),
    messages.map((m) => m.topic),
    messages.map((m) => m.type),
    messages.map((m) => m.partitionKey),
    messages.map((m) => JSON.stringify(m.data)),
  );
}
