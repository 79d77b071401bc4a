import { chmod, mkdtemp, rm } from "node:fs/promises";
import { freePort } from "@taskmesh/core";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations, startEmbeddedPostgres } from "@taskmesh/db";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the `postgres` maintenance database of the run's server. */
    postgresAdminUrl: string;
    /** A migrated database that createTestDatabase() clones. */
    postgresTemplateDatabase: string;
  }
}

const TEMPLATE_DATABASE = "taskmesh_template";

/**
 * One PostgreSQL for the whole run, in a fresh directory on a free port, with the migrations
 * applied once to a template database; each test file clones it (test/support/postgres.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = await mkdtemp(path.join(tmpdir(), "taskmesh-test-pg-"));
  // mkdtemp makes the folder 0700; the server runs as the `postgres` user when we are root.
  await chmod(root, 0o755);

  const server = await startEmbeddedPostgres({
    dataDir: path.join(root, "data"),
    port: await freePort(),
    database: TEMPLATE_DATABASE,
    // A throwaway cluster: durability buys nothing, speed does.
    postgresFlags: [
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=300",
    ],
  });

  try {
    await applyMigrations({ connectionString: server.connectionString });
  } catch (error) {
    await server.stop();
    await rm(root, { recursive: true, force: true });
    throw error;
  }

  project.provide("postgresAdminUrl", server.adminConnectionString);
  project.provide("postgresTemplateDatabase", TEMPLATE_DATABASE);

  return async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
}
