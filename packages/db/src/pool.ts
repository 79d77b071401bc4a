import pg from "pg";

/**
 * Server-side limits every pool sets unless told otherwise. A statement that runs longer than
 * `statementTimeoutMs` is cancelled by PostgreSQL (SQLSTATE 57014, answered as 503 by the HTTP
 * error handler), so one slow or hostile query cannot hold a connection for ever; a session that
 * sits idle inside a transaction longer than `idleInTransactionTimeoutMs` (a leaked or stuck
 * transaction, which holds its locks) is closed by the server. The migration applier is exempt:
 * it connects with its own client, without these limits.
 */
export const DATABASE_TIMEOUT_DEFAULTS = Object.freeze({
  statementTimeoutMs: 5_000,
  // Longer than the longest call a service makes inside a transaction (a sidecar publish, 5 s).
  idleInTransactionTimeoutMs: 30_000,
});

export interface DatabaseTimeouts {
  /** PostgreSQL statement_timeout of every connection; 0 = none. Default 5 s. */
  statementTimeoutMs?: number;
  /** PostgreSQL idle_in_transaction_session_timeout of every connection; 0 = none. Default 30 s. */
  idleInTransactionTimeoutMs?: number;
}

/** node-postgres options that send the timeouts with every connection's start-up message. */
export function timeoutSettings(timeouts: DatabaseTimeouts = {}): {
  statement_timeout: number;
  idle_in_transaction_session_timeout: number;
} {
  const statement = timeouts.statementTimeoutMs ?? DATABASE_TIMEOUT_DEFAULTS.statementTimeoutMs;
  const idle = timeouts.idleInTransactionTimeoutMs ?? DATABASE_TIMEOUT_DEFAULTS.idleInTransactionTimeoutMs;
  for (const [name, value] of [
    ["statementTimeoutMs", statement],
    ["idleInTransactionTimeoutMs", idle],
  ] as const) {
    if (!Number.isInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole number >= 0, got ${value}`);
  }
  return { statement_timeout: statement, idle_in_transaction_session_timeout: idle };
}

export interface CreatePoolOptions extends DatabaseTimeouts {
  connectionString: string;
  /** Upper bound of the pool (node-postgres defaults to 10). */
  max?: number;
  /** Called when a connection fails outside a query: the server restarted, failed over or closed it. */
  onConnectionError: (err: Error) => void;
}

/**
 * A node-postgres pool that survives its server going away, with a statement timeout and an
 * idle-in-transaction timeout on every connection (DATABASE_TIMEOUT_DEFAULTS). The pool listens
 * for errors only on idle connections; a connection that is checked out (held across a
 * transaction, a LISTEN, a call to the sidecar) gets the server's "terminating connection" as an
 * 'error' event with no listener, which would crash the process. Every connection therefore gets
 * a listener of its own: the error is reported, the query in flight fails, and the pool
 * replaces the connection.
 */
export function createPool(options: CreatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    ...timeoutSettings(options),
    ...(options.max === undefined ? {} : { max: options.max }),
  });
  pool.on("error", options.onConnectionError);
  pool.on("connect", (client) => {
    client.on("error", options.onConnectionError);
  });
  return pool;
}

/** The DATABASE_* fields of a service's config (databaseConfigFields of @taskmesh/core). */
export interface DatabaseConfig {
  DATABASE_URL: string;
  DATABASE_POOL_MAX: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number;
}

/** A service's pool from its config; a lost connection is logged and replaced on next use. */
export function createPoolFromConfig(
  config: DatabaseConfig,
  logger: { warn: (obj: object, msg: string) => void },
): pg.Pool {
  return createPool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    onConnectionError: (err) => {
      // A connection the server closed (restart, failover) is replaced on next use.
      logger.warn({ err }, "database connection lost");
    },
  });
}
