import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";
import type pg from "pg";
import { createPoolFromConfig, timeoutSettings, type DatabaseConfig, type DatabaseTimeouts } from "./pool.ts";

export interface CreatePrismaClientOptions extends DatabaseTimeouts {
  /** postgresql:// URL. */
  connectionString: string;
  /** Upper bound of the pg pool (node-postgres defaults to 10). */
  poolMax?: number;
  /** Called when an idle pooled connection fails (server restart, failover); the pool replaces it. */
  onPoolError?: (err: Error) => void;
}

/**
 * A Prisma client over node-postgres through Prisma 7's driver adapter (no Rust engine), with
 * the same statement and idle-in-transaction timeouts as createPool. Build one per process in
 * main.ts and pass it down; call `$disconnect()` on shutdown to close the pool.
 */
export function createPrismaClient(options: CreatePrismaClientOptions): PrismaClient {
  const adapter = new PrismaPg(
    {
      connectionString: options.connectionString,
      ...timeoutSettings(options),
      ...(options.poolMax === undefined ? {} : { max: options.poolMax }),
    },
    options.onPoolError ? { onPoolError: options.onPoolError } : {},
  );
  return new PrismaClient({ adapter });
}

/** A service's pool and the Prisma client over it: Prisma and the raw SQL share one pool. */
export interface DatabaseParts {
  pool: pg.Pool;
  prisma: PrismaClient;
}

/**
 * The pool from a service's DATABASE_* config (createPoolFromConfig) and Prisma over it, each
 * unless the caller (a test) passes its own.
 */
export function databaseFromConfig(
  config: DatabaseConfig,
  logger: { warn: (obj: object, msg: string) => void },
  overrides: Partial<DatabaseParts> = {},
): DatabaseParts {
  const pool = overrides.pool ?? createPoolFromConfig(config, logger);
  return { pool, prisma: overrides.prisma ?? new PrismaClient({ adapter: new PrismaPg(pool) }) };
}
