import type { Logger } from "@taskmesh/core";
import pg from "pg";
import { USER_DELETED_CHANNEL } from "./deleted-user.repository.ts";
import { STREAM_CHANNEL } from "./stream-event.repository.ts";

export interface StreamListener {
  /** Connects and LISTENs; resolves once listening (rejects if the first connection fails). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while LISTENing (for readiness). */
  readonly listening: boolean;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * One dedicated connection per process that LISTENs for stored stream events and tells the
 * live streams which user has news. A lost connection is reopened with backoff; since
 * notifications sent meanwhile are gone, `onReconnect` lets every stream catch up from the table.
 */
export function createStreamListener(options: {
  connectionString: string;
  logger: Logger;
  onNotice: (userId: string) => void;
  onReconnect: () => void;
  /** An account was deleted (its data purged, by any replica): end its open streams. */
  onUserDeleted?: (userId: string) => void;
}): StreamListener {
  const { logger } = options;
  let client: pg.Client | undefined;
  let stopped = false;
  let listening = false;
  let retry: NodeJS.Timeout | undefined;
  let backoff = 500;

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.connectionString });
    c.on("notification", (message) => {
      if (!message.payload) return;
      if (message.channel === STREAM_CHANNEL) options.onNotice(message.payload);
      else if (message.channel === USER_DELETED_CHANNEL) options.onUserDeleted?.(message.payload);
    });
    c.on("error", (err) => {
      logger.warn({ err }, "stream listener connection error");
    });
    c.on("end", () => {
      if (client !== c) return;
      client = undefined;
      listening = false;
      if (!stopped) scheduleReconnect();
    });
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${STREAM_CHANNEL}`);
      await c.query(`LISTEN ${USER_DELETED_CHANNEL}`);
    } catch (err) {
      client = undefined;
      await c.end().catch(() => undefined);
      throw err;
    }
    listening = true;
    backoff = 500;
  }

  function scheduleReconnect(): void {
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          logger.info("stream listener reconnected");
          options.onReconnect();
        },
        (err: unknown) => {
          logger.warn({ err, retryInMs: backoff }, "stream listener reconnect failed");
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          if (!stopped) scheduleReconnect();
        },
      );
    }, backoff);
    retry.unref();
  }

  return {
    start: connect,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      listening = false;
      await c?.end().catch(() => undefined);
    },
    get listening() {
      return listening;
    },
  };
}
