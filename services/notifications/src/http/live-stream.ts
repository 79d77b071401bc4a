import { AppError, InvalidError, UnauthenticatedError, UnavailableError, type Logger } from "@taskmesh/core";
import type { Request, Response } from "express";
import type { StoredStreamEvent } from "../data/stream-event.repository.ts";

/** What a live stream reads: compose.ts binds data/stream-event.repository.ts and data/deleted-user.repository.ts. */
export interface LiveStreamReads {
  /** The user's events after `after` (exclusive), oldest first. */
  eventsAfter(userId: string, after: bigint, limit: number): Promise<StoredStreamEvent[]>;
  /** The newest position of the user's events (0 when none). */
  latestPosition(userId: string): Promise<bigint>;
  isDeletedUser(userId: string): Promise<boolean>;
}

export interface LiveStreamOptions {
  reads: LiveStreamReads;
  logger: Logger;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** Open streams per user in this process. */
  maxPerUser: number;
  /** Rows read per query when a stream catches up. */
  batchSize?: number;
}

/** The server-sent event streams of this process, fed from stream_events. */
export interface LiveStream {
  /** Serves one stream until the client leaves, its token expires, or close(). */
  open(req: Request, res: Response, stream: { userId: string; expiresAt?: Date }): Promise<void>;
  /** The user has new events (a NOTIFY from any replica). */
  notify(userId: string): void;
  /** Every stream re-reads the table (after the listener lost notifications). */
  catchUpAll(): void;
  /** The user's account was deleted: ends their open streams in this process. */
  endUser(userId: string): void;
  /** Ends every stream and refuses new ones (shutdown). */
  close(): void;
  /** Open streams. */
  readonly size: number;
}

interface Connection {
  userId: string;
  res: Response;
  /** The last position sent (or the starting point): the next event sent is after it. */
  lastPosition: bigint;
  timer?: NodeJS.Timeout;
}

interface UserStreams {
  connections: Set<Connection>;
  reading: boolean;
  again: boolean;
}

const LAST_EVENT_ID = /^\d{1,18}$/;
// A client that does not read fast enough is cut off; it resumes with Last-Event-ID.
const MAX_BUFFERED_BYTES = 1024 * 1024;
const RETRY_AFTER_ERROR_MS = 1000;

/**
 * Live streams of task events and reminders, one user's own events each. Positions commit in
 * order (appendStreamEvent), so every stream sends exactly the rows after the last position
 * it sent: on connect (after Last-Event-ID, or from now), and again on each notification.
 * One read per user serves all of that user's streams in this process.
 */
export function createLiveStream(options: LiveStreamOptions): LiveStream {
  const { reads, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const users = new Map<string, UserStreams>();
  let open = 0;
  let closing = false;

  const heartbeat = setInterval(() => {
    for (const entry of users.values()) {
      for (const connection of entry.connections) connection.res.write(": heartbeat\n\n");
    }
  }, options.heartbeatMs);
  heartbeat.unref();

  function end(connection: Connection): void {
    const entry = users.get(connection.userId);
    if (!entry?.connections.delete(connection)) return;
    open--;
    if (entry.connections.size === 0) users.delete(connection.userId);
    if (connection.timer) clearTimeout(connection.timer);
    connection.res.end();
  }

  function send(connection: Connection, position: string, data: unknown): void {
    connection.res.write(`id: ${position}\ndata: ${JSON.stringify(data)}\n\n`);
    connection.lastPosition = BigInt(position);
    if (connection.res.writableLength > MAX_BUFFERED_BYTES) {
      logger.warn({ userId: connection.userId }, "stream client too slow; closing its stream");
      end(connection);
    }
  }

  async function readOnce(userId: string, entry: UserStreams): Promise<void> {
    for (;;) {
      if (entry.connections.size === 0) return;
      let from: bigint | undefined;
      for (const c of entry.connections)
        if (from === undefined || c.lastPosition < from) from = c.lastPosition;
      const rows = await reads.eventsAfter(userId, from ?? 0n, batchSize);
      for (const connection of [...entry.connections]) {
        for (const row of rows) {
          if (!entry.connections.has(connection)) break;
          if (BigInt(row.position) > connection.lastPosition) send(connection, row.position, row.event);
        }
      }
      if (rows.length < batchSize) return;
    }
  }

  /** Reads for a user, never twice at once: a notice during a read makes one more read. */
  function pump(userId: string): void {
    const entry = users.get(userId);
    if (!entry) return;
    if (entry.reading) {
      entry.again = true;
      return;
    }
    entry.reading = true;
    entry.again = false;
    readOnce(userId, entry).then(
      () => {
        entry.reading = false;
        if (entry.again) pump(userId);
      },
      (err: unknown) => {
        entry.reading = false;
        logger.warn({ err, userId }, "reading stream events failed; retrying");
        setTimeout(() => {
          pump(userId);
        }, RETRY_AFTER_ERROR_MS).unref();
      },
    );
  }

  return {
    async open(req, res, stream) {
      if (closing) throw new UnavailableError("Shutting down; reconnect.", 1);
      const { userId } = stream;
      const entry = users.get(userId);
      if ((entry?.connections.size ?? 0) >= options.maxPerUser) {
        throw new AppError(
          "rate-limited",
          `At most ${options.maxPerUser} streams per user are open at once; close one first.`,
        );
      }
      // An access token (a JWT) can outlive its account: a deleted account streams nothing.
      if (await reads.isDeletedUser(userId)) {
        throw new UnauthenticatedError(
          "This account no longer exists.",
          'Bearer realm="taskmesh", error="invalid_token"',
        );
      }
      const header = req.get("last-event-id")?.trim();
      if (header !== undefined && !LAST_EVENT_ID.test(header)) {
        throw new InvalidError("Last-Event-ID is not an id this stream sent.", [
          { pointer: "/last-event-id", in: "header", detail: "must be the id of an event from this stream" },
        ]);
      }
      const start = header === undefined ? await reads.latestPosition(userId) : BigInt(header);
      // Both checks again: close() or concurrent opens may have happened during the await.
      const current = users.get(userId) ?? { connections: new Set(), reading: false, again: false };
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by close() meanwhile
      if (closing) throw new UnavailableError("Shutting down; reconnect.", 1);
      if (current.connections.size >= options.maxPerUser) {
        throw new AppError(
          "rate-limited",
          `At most ${options.maxPerUser} streams per user are open at once; close one first.`,
        );
      }

      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        Connection: "keep-alive",
        // Proxies such as nginx must not buffer the stream.
        "X-Accel-Buffering": "no",
      });
      res.write("retry: 3000\n: connected\n\n");
      const connection: Connection = { userId, res, lastPosition: start };
      users.set(userId, current);
      current.connections.add(connection);
      open++;
      if (stream.expiresAt) {
        // The stream ends with the access token; the client reconnects with a fresh one and Last-Event-ID.
        const ms = Math.min(Math.max(stream.expiresAt.getTime() - Date.now(), 0), 2 ** 31 - 1);
        connection.timer = setTimeout(() => {
          end(connection);
        }, ms);
        connection.timer.unref();
      }
      // The response's close is the connection's end (client gone, or end() above).
      res.on("close", () => {
        end(connection);
      });
      // A write racing the client's disconnect must not become an unhandled 'error'.
      res.on("error", (err) => {
        logger.debug({ err, userId }, "stream write failed");
        end(connection);
      });
      if (req.socket.destroyed) {
        end(connection);
        return;
      }
      pump(userId);
    },
    notify(userId) {
      pump(userId);
    },
    catchUpAll() {
      for (const userId of users.keys()) pump(userId);
    },
    endUser(userId) {
      const entry = users.get(userId);
      if (!entry) return;
      logger.info({ userId, streams: entry.connections.size }, "account deleted; ending its streams");
      for (const connection of [...entry.connections]) end(connection);
    },
    close() {
      closing = true;
      clearInterval(heartbeat);
      for (const entry of [...users.values()])
        for (const connection of [...entry.connections]) end(connection);
    },
    get size() {
      return open;
    },
  };
}
