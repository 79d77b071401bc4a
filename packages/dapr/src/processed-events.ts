import type { Logger } from "@taskmesh/core";
import type { SidecarClient } from "./sidecar-client.ts";

/**
 * The fast path of idempotent consumption: ids of events handled before, kept in the app's
 * Dapr state store with a TTL. Only an optimisation: handling must be idempotent on its own
 * (a database constraint, an idempotency key), so an unreachable store or a lost record costs
 * a repeated, harmless pass, never a double effect. Failures are logged, never thrown.
 */
export interface ProcessedEvents {
  has(eventId: string): Promise<boolean>;
  remember(eventId: string): Promise<void>;
}

export interface ProcessedEventsOptions {
  sidecar: Pick<SidecarClient, "getState" | "saveState">;
  /** The state store component, e.g. "recurring-tasks-state". */
  store: string;
  /** How long an id is remembered; redeliveries after that take the slow (idempotent) path. */
  ttlSeconds: number;
  logger: Logger;
}

/** ProcessedEvents in a Dapr state store, one key per event id. */
export function createProcessedEvents(options: ProcessedEventsOptions): ProcessedEvents {
  const { sidecar, store, logger } = options;
  const key = (eventId: string) => `processed-event-${eventId}`;
  return {
    async has(eventId) {
      try {
        return (await sidecar.getState(store, key(eventId))) !== undefined;
      } catch (err) {
        logger.warn({ err, eventId }, "processed-event lookup failed; handling the event again");
        return false;
      }
    },
    async remember(eventId) {
      try {
        await sidecar.saveState(store, [
          { key: key(eventId), value: { at: new Date().toISOString() }, ttlInSeconds: options.ttlSeconds },
        ]);
      } catch (err) {
        logger.warn({ err, eventId }, "could not record the event as processed");
      }
    },
  };
}
