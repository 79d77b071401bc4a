import type pg from "pg";
import type { Prisma, PrismaClient } from "@taskmesh/db";

/** An interactive Prisma transaction: every write of a use case goes through one. */
export type Tx = Prisma.TransactionClient;

/** Parameterised SQL for reads that Prisma's query builder cannot express or serves too slowly. */
export interface Sql {
  /** `name` makes it a prepared statement where the driver supports it (parsed and planned once per connection). */
  query<T>(text: string, values: readonly unknown[], name?: string): Promise<T[]>;
}

export interface Database {
  prisma: PrismaClient;
  /** Reads outside a transaction go straight to the pool Prisma's adapter shares. */
  read: Sql;
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

function poolSql(pool: pg.Pool): Sql {
  return {
    async query<T>(text: string, values: readonly unknown[], name?: string) {
      const result = await pool.query({ text, values: values as unknown[], ...(name ? { name } : {}) });
      return result.rows as T[];
    },
  };
}

/** The same reads inside a transaction, so a write can answer with what it committed. */
export function txSql(tx: Tx): Sql {
  return {
    query<T>(text: string, values: readonly unknown[]) {
      return tx.$queryRawUnsafe<T[]>(text, ...values);
    },
  };
}

export interface DatabaseOptions {
  /** Called after every committed transaction (wakes the outbox relay: a write may have added events). */
  afterCommit?: () => void;
}

export function createDatabase(prisma: PrismaClient, pool: pg.Pool, options: DatabaseOptions = {}): Database {
  const { afterCommit } = options;
  return {
    prisma,
    read: poolSql(pool),
    transaction: async (work) => {
      const result = await prisma.$transaction(work, { maxWait: 5_000, timeout: 10_000 });
      afterCommit?.();
      return result;
    },
  };
}
