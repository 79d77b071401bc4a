import type { Prisma } from "@taskmesh/db";
import type { Tx } from "./database.ts";

/** An event to publish, written in the same transaction as the change it describes. */
export interface OutboxMessage {
  topic: string;
  type: string;
  partitionKey: string;
  data: Prisma.InputJsonValue;
}

export async function appendToOutbox(tx: Tx, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.outboxEvent.createMany({ data: messages });
}
