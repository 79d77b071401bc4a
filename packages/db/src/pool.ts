import pg from "pg";

export interface CreatePoolOptions {
  connectionString: string;
  /** Upper bound of the pool (node-postgres defaults to 10). */
  max?: number;
  /** Called when a connection fails outside a query: the server restarted, failed over or closed it. */
  onConnectionError: (err: Error) => void;
}

/**
 * A node-postgres pool that survives its server going away. The pool listens for errors only on
 * idle connections; a connection that is checked out (held across a transaction, a LISTEN, a
 * call to the sidecar) gets the server's "terminating connection" as an 'error' event with no
 * listener, which would crash the process. Every connection therefore gets a listener of its own:
 * the error is reported, the query in flight fails, and the pool replaces the connection.
 */
export function createPool(options: CreatePoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    ...(options.max === undefined ? {} : { max: options.max }),
  });
  pool.on("error", options.onConnectionError);
  pool.on("connect", (client) => {
    client.on("error", options.onConnectionError);
  });
  return pool;
}
