import { isUuid } from "@taskmesh/core";
import { createHash } from "node:crypto";
import type { TaskmeshEvent } from "@taskmesh/contracts";
import type { WebhookDeliveryRepository } from "../data/webhook-delivery.repository.ts";

/** Attributes Dapr adds on publish: internal routing and tracing, not for users' receivers. */
const DAPR_EXTENSIONS = ["topic", "pubsubname", "traceparent", "tracestate", "traceid", "expiration"];

/**
 * The delivery log keys events by UUID. taskmesh's ids are UUIDs; anything else maps to a
 * stable name-based UUID (SHA-256, version 8 layout), so the same event id always dedupes.
 */
function eventKey(id: string): string {
  if (isUuid(id)) return id.toLowerCase();
  const h = createHash("sha256").update(`taskmesh-event:${id}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x80;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The CloudEvent as receivers get it: the envelope and data, without Dapr's extensions. */
export function webhookPayload(event: TaskmeshEvent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([key]) => !DAPR_EXTENSIONS.includes(key)));
}

export interface WebhookFanOutDeps {
  deliveries: WebhookDeliveryRepository;
  /** Wakes the delivery worker when rows were queued. */
  onQueued: () => void;
}

/**
 * The hook the event routes call with each consumed event: queues one delivery per webhook of
 * the event's user that subscribed to its type. Idempotent by event id (a redelivered event
 * queues nothing new). Database errors propagate, so the sidecar redelivers the event.
 */
export function createWebhookFanOut(deps: WebhookFanOutDeps): (event: TaskmeshEvent) => Promise<number> {
  return async (event) => {
    const queued = await deps.deliveries.enqueue({
      eventId: eventKey(event.id),
      eventType: event.type,
      userId: event.data.userId,
      payload: webhookPayload(event),
    });
    if (queued > 0) deps.onQueued();
    return queued;
  };
}
