import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { applyMigrations } from "./migrate.ts";

export interface ResolveDatabaseOptions {
  /** A DATABASE_URL to use as is; without it an embedded PostgreSQL is started. */
  databaseUrl?: string | undefined;
  /** Embedded cluster directory (used only without databaseUrl). */
  dataDir: string;
  /** Embedded server port (used only without databaseUrl). */
  port: number;
  /** Embedded database name (used only without databaseUrl). Default "taskmesh". */
  database?: string;
  /** Defaults to this repository's prisma/migrations (pass it explicitly from bundled code). */
  migrationsDir?: string;
  /** false: use a DATABASE_URL as it is (a Kubernetes Job migrates). The embedded database is always migrated. */
  migrate?: boolean;
  log?: (message: string) => void;
}

export interface ResolvedDatabase {
  connectionString: string;
  /** Names of the migrations this call applied. */
  applied: string[];
  /** Stops the embedded server if one was started; no-op for a DATABASE_URL. */
  stop(): Promise<void>;
}

/**
 * The database for local runs: DATABASE_URL when given, otherwise an embedded PostgreSQL; either
 * way migrated to the latest migration before it is returned.
 */
export async function resolveDatabase(options: ResolveDatabaseOptions): Promise<ResolvedDatabase> {
  const log = options.log ?? ((): void => undefined);
  const migrationsDir = options.migrationsDir;

  if (options.databaseUrl) {
    if (options.migrate === false)
      return { connectionString: options.databaseUrl, applied: [], stop: () => Promise.resolve() };
    const { applied } = await applyMigrations({ connectionString: options.databaseUrl, migrationsDir, log });
    return { connectionString: options.databaseUrl, applied, stop: () => Promise.resolve() };
  }

  const server = await startEmbeddedPostgres({
    dataDir: options.dataDir,
    port: options.port,
    database: options.database ?? "taskmesh",
    log,
  });
  try {
    const { applied } = await applyMigrations({
      connectionString: server.connectionString,
      migrationsDir,
      log,
    });
    return { connectionString: server.connectionString, applied, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
