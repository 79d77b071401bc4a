import { newEvent, isEventType, type CloudEvent } from "@taskmesh/contracts";
import { createWorkerLoop, type Logger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import type pg from "pg";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import {
  claimOutboxRows,
  outboxBacklog,
  settleOutboxRows,
  type OutboxFailure,
  type OutboxRow,
} from "../data/outbox.repository.ts";

export interface OutboxRelayOptions {
  pool: pg.Pool;
  sidecar: SidecarClient;
  /** The Dapr pub/sub component (PUBSUB_NAME). */
  pubsub: string;
  logger: Logger;
  /** Where the relay's metrics are registered (the app's /metrics registry). */
  registry?: Registry;
  /** Rows claimed per round trip. */
  batchSize: number;
  /** One bulk publish per topic and round; false = one publish call per event. */
  bulkPublish: boolean;
  /** Publish calls in flight at once without bulk publish. */
  publishConcurrency?: number;
  /**
   * Rounds in flight at once (each claims its own rows, as separate replicas would): a round
   * mostly waits for the broker's acknowledgement, so two overlap well. Default 1.
   */
  lanes?: number;
  /** How often to look for rows committed by other processes. */
  pollIntervalMs?: number;
  /** Backoff of a failed row: first retry after about this long, doubling up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

export interface OutboxRelay {
  start(): void;
  /** Publish soon: called after this process commits outbox rows. */
  wake(): void;
  /** Runs one round now (claim, publish, settle); resolves with the number of rows published. */
  runOnce(): Promise<number>;
  /** Stops after the round in flight; rows not yet published stay in the outbox. */
  stop(): Promise<void>;
}

/** Longest pause between rounds while publishing or the database keeps failing. */
const MAX_ROUND_BACKOFF_MS = 5_000;

/**
 * Exponential backoff with jitter: `base * 2^(attempt-1)` capped at `max`, of which a random
 * half is waited, so replicas that failed together do not retry together.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The error and its causes (the sidecar client keeps daprd's status and text in `cause`). */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error && parts.length < 5; e = e.cause) parts.push(e.message);
  return parts.join(": ");
}

/** Publishing one group of rows: the ids that made it and the failures (with reasons). */
interface Outcome {
  published: string[];
  failed: { row: OutboxRow; error: string }[];
}

/**
 * The outbox relay: publishes committed outbox rows through the Dapr sidecar, oldest first
 * and in order per partition key, then deletes them in the transaction that claimed them.
 * Safe with any number of replicas (see claimOutboxRows). Publishing is at least once: a
 * crash between publish and commit publishes the row again, under the same CloudEvent id
 * (the row id), which consumers deduplicate.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, sidecar, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const baseBackoffMs = options.baseBackoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  const concurrency = options.publishConcurrency ?? 64;
  const random = options.random ?? Math.random;
  const registers = options.registry ? [options.registry] : [];

  const publishedTotal = new Counter({
    name: "outbox_events_published_total",
    help: "Outbox events published through the sidecar.",
    registers,
  });
  const failedTotal = new Counter({
    name: "outbox_publish_failures_total",
    help: "Outbox events whose publishing failed (each is retried after a backoff).",
    registers,
  });
  const roundSeconds = new Histogram({
    name: "outbox_relay_round_seconds",
    help: "Duration of one relay round: claim, publish, settle.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  // Read from the database when scraped, so every replica reports the whole outbox (one
  // query serves both gauges of a scrape).
  let lastBacklog: { at: number; value: Promise<{ pending: number; oldestAgeSeconds: number }> } | undefined;
  const backlog = () => {
    if (!lastBacklog || Date.now() - lastBacklog.at > 500) {
      lastBacklog = { at: Date.now(), value: outboxBacklog(pool) };
    }
    return lastBacklog.value;
  };
  new Gauge({
    name: "outbox_pending_events",
    help: "Outbox rows not yet published.",
    registers,
    async collect() {
      try {
        this.set((await backlog()).pending);
      } catch {
        // The database is down: keep the last value; readiness reports the outage.
      }
    },
  });
  new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest outbox row not yet published (0 when none).",
    registers,
    async collect() {
      try {
        this.set((await backlog()).oldestAgeSeconds);
      } catch {
        // as above
      }
    },
  });

  function eventOf(row: OutboxRow): CloudEvent<unknown> {
    if (!isEventType(row.type)) throw new Error(`outbox row has unknown event type ${row.type}`);
    return newEvent(row.type, row.data as never, { id: row.id, time: row.createdAt.toISOString() });
  }

  /** Rows of one topic, at most one per key: one bulk call (or one call per row). */
  async function publishGroup(topic: string, rows: OutboxRow[]): Promise<Outcome> {
    const outcome: Outcome = { published: [], failed: [] };
    const entries: { row: OutboxRow; event: CloudEvent<unknown> }[] = [];
    for (const row of rows) {
      try {
        entries.push({ row, event: eventOf(row) });
      } catch (error) {
        // Can never be published as it is; it keeps its key waiting, and the metrics show it.
        logger.error({ err: error, eventId: row.id, type: row.type }, "outbox row is not a valid event");
        outcome.failed.push({ row, error: `invalid event: ${errorText(error)}` });
      }
    }
    if (entries.length === 0) return outcome;
    if (options.bulkPublish) {
      try {
        const failures = await sidecar.bulkPublish(
          options.pubsub,
          topic,
          entries.map(({ row, event }) => ({ entryId: row.id, event, partitionKey: row.partitionKey })),
        );
        const failedIds = new Map(failures.map((f) => [f.entryId, f.error]));
        for (const { row } of entries) {
          const error = failedIds.get(row.id);
          if (error === undefined) outcome.published.push(row.id);
          else outcome.failed.push({ row, error });
        }
      } catch (error) {
        for (const { row } of entries) outcome.failed.push({ row, error: errorText(error) });
      }
      return outcome;
    }
    let next = 0;
    const worker = async () => {
      while (next < entries.length) {
        const entry = entries[next++];
        if (!entry) return;
        try {
          await sidecar.publish(options.pubsub, topic, entry.event, { partitionKey: entry.row.partitionKey });
          outcome.published.push(entry.row.id);
        } catch (error) {
          outcome.failed.push({ row: entry.row, error: errorText(error) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    return outcome;
  }

  /**
   * Publishes in waves: wave n holds the n-th row of each key, so a key's rows go out one
   * after another, and a key whose row failed publishes nothing newer in this round.
   */
  async function publish(rows: OutboxRow[]): Promise<Outcome> {
    const byKey = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const list = byKey.get(row.partitionKey);
      if (list) list.push(row);
      else byKey.set(row.partitionKey, [row]);
    }
    const total: Outcome = { published: [], failed: [] };
    const stopped = new Set<string>();
    for (let wave = 0; ; wave++) {
      const current = [...byKey.entries()].flatMap(([key, list]) => {
        const row = list[wave];
        return row && !stopped.has(key) ? [row] : [];
      });
      if (current.length === 0) return total;
      const byTopic = new Map<string, OutboxRow[]>();
      for (const row of current) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
      const outcomes = await Promise.all([...byTopic].map(([topic, group]) => publishGroup(topic, group)));
      for (const outcome of outcomes) {
        total.published.push(...outcome.published);
        for (const failure of outcome.failed) {
          total.failed.push(failure);
          stopped.add(failure.row.partitionKey);
        }
      }
    }
  }

  let consecutiveFailures = 0;

  /** One round; `claimed` counts the rows taken, including those held back for their key's order. */
  async function round(): Promise<{ claimed: number; published: number }> {
    const client = await pool.connect();
    const endTimer = roundSeconds.startTimer();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      const { claimed, rows } = await claimOutboxRows(client, options.batchSize);
      const outcome = rows.length > 0 ? await publish(rows) : { published: [], failed: [] };
      const failures: OutboxFailure[] = outcome.failed.map(({ row, error }) => ({
        id: row.id,
        error,
        retryInMs: backoffDelay(row.attempts + 1, baseBackoffMs, maxBackoffMs, random),
      }));
      await settleOutboxRows(client, outcome.published, failures);
      await client.query("COMMIT");

      publishedTotal.inc(outcome.published.length);
      failedTotal.inc(failures.length);
      if (failures.length > 0) {
        consecutiveFailures = outcome.published.length > 0 ? 0 : consecutiveFailures + 1;
        if (consecutiveFailures <= 1 || consecutiveFailures % 10 === 0) {
          logger.warn(
            {
              failed: failures.length,
              published: outcome.published.length,
              error: failures[0]?.error,
              consecutiveFailures,
            },
            "outbox events not published; kept for a retry",
          );
        }
      } else if (outcome.published.length > 0) {
        if (consecutiveFailures > 0) logger.info("outbox publishing recovered");
        consecutiveFailures = 0;
        logger.debug({ published: outcome.published.length }, "outbox events published");
      }
      return { claimed, published: outcome.published.length };
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(broken);
      endTimer();
    }
  }

  let databaseFailures = 0;
  const loop = createWorkerLoop({
    lanes: Math.max(1, options.lanes ?? 1),
    async round() {
      let result = { claimed: 0, published: 0 };
      try {
        result = await round();
        databaseFailures = 0;
      } catch (error) {
        databaseFailures++;
        if (databaseFailures === 1 || databaseFailures % 10 === 0)
          logger.warn({ err: error, databaseFailures }, "outbox relay round failed; retrying");
      }
      // A full claim that made progress means more is waiting: go on at once. After failures,
      // back off (a wake-up from a new commit does not cut that short: the sidecar is still down).
      if (result.claimed >= options.batchSize && result.published > 0) return 0;
      const failing = Math.max(consecutiveFailures, databaseFailures);
      // Capped low: each failed row already waits out its own backoff, and a round costs one
      // claim query, so a short pause lets the relay notice a recovered sidecar or broker quickly.
      if (failing > 0)
        return Math.max(pollIntervalMs, backoffDelay(failing, baseBackoffMs, MAX_ROUND_BACKOFF_MS, random));
      return pollIntervalMs;
    },
  });

  return {
    start() {
      loop.start();
    },
    wake() {
      if (consecutiveFailures > 0) return;
      // One idle lane is enough for what one commit wrote.
      loop.wake();
    },
    async runOnce() {
      return (await round()).published;
    },
    async stop() {
      await loop.stop();
    },
  };
}
