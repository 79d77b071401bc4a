import type { z } from "zod";
import { cloudEventAttributesSchema } from "./cloud-event.schema.ts";
import {
  ALL_EVENT_TYPES,
  EVENT_CATALOG,
  isEventType,
  type EventOf,
  type EventType,
} from "./event-catalog.ts";

/**
 * Why a delivered message can never be processed. A subscriber answers DROP for each (and logs
 * the reason), never RETRY: redelivering the same bytes cannot make them valid.
 * - not-a-cloud-event: no CloudEvents 1.0 envelope (specversion, id, source, type).
 * - unknown-type: a CloudEvent of a type this subscriber does not take (or nobody knows).
 * - invalid-data: a known type whose envelope or data breaks the contract.
 */
export type DropReason = "not-a-cloud-event" | "unknown-type" | "invalid-data";

export interface InvalidEvent {
  ok: false;
  reason: DropReason;
  /** One line for the log. */
  message: string;
  /** The CloudEvent id and type when the envelope had them, for the log. */
  id?: string;
  type?: string;
  issues: z.core.$ZodIssue[];
}

export interface ValidEvent<E> {
  ok: true;
  event: E;
}

export type ParsedEvent<E> = ValidEvent<E> | InvalidEvent;

function describe(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}

/**
 * Parses a message body as delivered by the Dapr sidecar (a CloudEvent in structured mode)
 * against the contract of its type. `accept` limits the types the caller handles: any other
 * type, even a known one, is "unknown-type".
 */
export function parseEvent<const T extends EventType = EventType>(
  body: unknown,
  accept: readonly T[] = ALL_EVENT_TYPES as readonly T[],
): ParsedEvent<EventOf<T>> {
  const attributes = cloudEventAttributesSchema.safeParse(body);
  if (!attributes.success) {
    return {
      ok: false,
      reason: "not-a-cloud-event",
      message: `not a CloudEvents 1.0 envelope: ${describe(attributes.error.issues)}`,
      issues: attributes.error.issues,
    };
  }
  const { id, type } = attributes.data;
  if (!isEventType(type) || !(accept as readonly string[]).includes(type)) {
    return {
      ok: false,
      reason: "unknown-type",
      message: `event type ${JSON.stringify(type)} is not handled here`,
      id,
      type,
      issues: [],
    };
  }
  const parsed = EVENT_CATALOG[type].schema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      reason: "invalid-data",
      message: `${type} breaks its contract: ${describe(parsed.error.issues)}`,
      id,
      type,
      issues: parsed.error.issues,
    };
  }
  return { ok: true, event: parsed.data as EventOf<T> };
}
