import type { RequestHandler } from "express";
import { AppError, UnavailableError, type Logger } from "@taskmesh/core";
import { parseEvent, type EventOf, type EventType } from "@taskmesh/contracts";
import { z } from "zod";

/**
 * What a subscriber tells its sidecar about one message:
 * - SUCCESS: done, or already done before (a redelivery);
 * - RETRY: a transient fault (database or sidecar down); daprd redelivers per the resiliency policy;
 * - DROP: can never succeed (not a CloudEvent, unknown type, breaks its contract); daprd
 *   sends it to the subscription's dead-letter topic, and the app logs why.
 */
export type EventOutcome = "SUCCESS" | "RETRY" | "DROP";

/**
 * Handles valid events in delivery order and answers one outcome per event (same order).
 * A thrown error answers for the whole batch: RETRY when it may pass (UnavailableError or
 * any unexpected error), DROP for other AppErrors (the event itself is wrong).
 */
export type EventBatchHandler<T extends EventType> = (
  events: readonly EventOf<T>[],
) => Promise<EventOutcome[]>;

export interface EventRouteOptions<T extends EventType> {
  /** Every type the topic carries that this app accepts; anything else is dropped. */
  accept: readonly T[];
  handle: EventBatchHandler<T>;
  logger: Logger;
}

function outcomeOfError(error: unknown): EventOutcome {
  return error instanceof AppError && !(error instanceof UnavailableError) ? "DROP" : "RETRY";
}

async function runBatch<T extends EventType>(
  options: EventRouteOptions<T>,
  events: readonly EventOf<T>[],
): Promise<EventOutcome[]> {
  if (events.length === 0) return [];
  try {
    const outcomes = await options.handle(events);
    if (outcomes.length !== events.length)
      throw new Error("the handler answered for a different number of events");
    return outcomes;
  } catch (error) {
    const outcome = outcomeOfError(error);
    const level = outcome === "RETRY" ? "warn" : "error";
    options.logger[level](
      { err: error, eventIds: events.map((e) => e.id), outcome },
      outcome === "RETRY"
        ? "event handling failed; the sidecar will redeliver"
        : "event can never be handled; dropped",
    );
    return events.map(() => outcome);
  }
}

function logOutcomes<T extends EventType>(
  logger: Logger,
  events: readonly EventOf<T>[],
  outcomes: EventOutcome[],
): void {
  events.forEach((event, i) => {
    if (outcomes[i] === "DROP")
      logger.error({ eventId: event.id, type: event.type }, "event dropped by its handler");
  });
}

/** A `POST` route for a declarative subscription: one CloudEvent per request. */
export function eventRoute<T extends EventType>(options: EventRouteOptions<T>): RequestHandler {
  return async (req, res) => {
    const parsed = parseEvent(req.body, options.accept);
    if (!parsed.ok) {
      options.logger.error(
        { eventId: parsed.id, type: parsed.type, reason: parsed.reason },
        `event dropped: ${parsed.message}`,
      );
      res.json({ status: "DROP" });
      return;
    }
    const [outcome = "RETRY"] = await runBatch(options, [parsed.event]);
    logOutcomes(options.logger, [parsed.event], [outcome]);
    res.json({ status: outcome });
  };
}

const bulkDeliverySchema = z.object({
  entries: z.array(z.looseObject({ entryId: z.string().min(1), event: z.unknown() })),
});

/**
 * A `POST` route for a bulk subscription (`bulkSubscribe.enabled`): many entries per request,
 * handled as one batch, answered with a status per entry.
 */
export function bulkEventRoute<T extends EventType>(options: EventRouteOptions<T>): RequestHandler {
  return async (req, res) => {
    const delivery = bulkDeliverySchema.safeParse(req.body);
    if (!delivery.success) {
      // Not a bulk delivery at all: nothing to answer per entry, and retrying cannot help.
      options.logger.error(
        { issues: delivery.error.issues },
        "bulk delivery dropped: not a Dapr bulk message",
      );
      res.json({ statuses: [] });
      return;
    }
    const statuses = new Map<string, EventOutcome>();
    const valid: { entryId: string; event: EventOf<T> }[] = [];
    for (const entry of delivery.data.entries) {
      const parsed = parseEvent(entry.event, options.accept);
      if (parsed.ok) {
        valid.push({ entryId: entry.entryId, event: parsed.event });
      } else {
        options.logger.error(
          { entryId: entry.entryId, eventId: parsed.id, type: parsed.type, reason: parsed.reason },
          `event dropped: ${parsed.message}`,
        );
        statuses.set(entry.entryId, "DROP");
      }
    }
    const events = valid.map((v) => v.event);
    const outcomes = await runBatch(options, events);
    logOutcomes(options.logger, events, outcomes);
    valid.forEach((v, i) => statuses.set(v.entryId, outcomes[i] ?? "RETRY"));
    res.json({
      statuses: delivery.data.entries.map((entry) => ({
        entryId: entry.entryId,
        status: statuses.get(entry.entryId) ?? "RETRY",
      })),
    });
  };
}

/** daprd's bulk envelope has `entries` and no CloudEvent attributes of its own. */
function isBulkDelivery(body: unknown): boolean {
  return (
    typeof body === "object" &&
    body !== null &&
    !("specversion" in body) &&
    Array.isArray((body as { entries?: unknown }).entries)
  );
}

/**
 * A `POST` route for a declarative subscription in either delivery mode: one CloudEvent per
 * request, or a bulk envelope when the subscription has `bulkSubscribe.enabled`. The mode is
 * the subscription's (YAML) choice, so the app serves whichever daprd sends.
 */
export function subscriptionRoute<T extends EventType>(options: EventRouteOptions<T>): RequestHandler {
  const single = eventRoute(options);
  const bulk = bulkEventRoute(options);
  return (req, res, next) => (isBulkDelivery(req.body) ? bulk : single)(req, res, next);
}
