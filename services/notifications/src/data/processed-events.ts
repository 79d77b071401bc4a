import type { Logger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";

/**
 * The fast path of idempotent consumption: ids of events handled before, in the Dapr state
 * store with a TTL. Only an optimisation: every step of handling is idempotent in the database
 * too, so a lost or unreachable record costs a repeated (harmless) pass, never a double effect.
 */
export interface ProcessedEvents {
  has(eventId: string): Promise<boolean>;
  remember(eventId: string): Promise<void>;
}

export function createProcessedEvents(options: {
  sidecar: Pick<SidecarClient, "getState" | "saveState">;
  store: string;
  ttlSeconds: number;
  logger: Logger;
}): ProcessedEvents {
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
