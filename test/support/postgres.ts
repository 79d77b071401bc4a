import { randomBytes } from "node:crypto";
import { createPool } from "@taskmesh/db";
import pg from "pg";
import { inject } from "vitest";

export interface TestDatabase {
  name: string;
  connectionString: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** false: an empty database (no migrations applied), for tests of the migrations themselves. */
  migrated?: boolean;
}

/**
 * A database of its own for a test file (or test), cloned from the migrated template that the
 * global setup prepared, so files run in parallel without sharing rows.
 */
export async function createTestDatabase(options: CreateTestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = inject("postgresAdminUrl");
  const template = options.migrated === false ? "template0" : inject("postgresTemplateDatabase");
  const name = `test_${randomBytes(6).toString("hex")}`;

  await withAdmin(adminUrl, async (admin) => {
    // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template;
    // only a concurrent clone can be, and only for an instant, so retry briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(
          `CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE ${admin.escapeIdentifier(template)}`,
        );
        return;
      } catch (error) {
        const inUse = error instanceof Error && "code" in error && error.code === "55006";
        if (!inUse || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    connectionString: url.toString(),
    drop: async () => {
      await withAdmin(adminUrl, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A pool for a test's own connections. Dropping a test database (WITH FORCE) terminates the
 * connections still open to it; like the services' pools (createPool), every connection listens
 * for that, so it cannot surface as an unhandled 'error' event.
 */
export function testPool(connectionString: string, max = 5): pg.Pool {
  return createPool({ connectionString, max, onConnectionError: () => undefined });
}
