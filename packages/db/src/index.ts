export {
  createPrismaClient,
  databaseFromConfig,
  type CreatePrismaClientOptions,
  type DatabaseParts,
} from "./client.ts";
export {
  createPool,
  createPoolFromConfig,
  DATABASE_TIMEOUT_DEFAULTS,
  timeoutSettings,
  type CreatePoolOptions,
  type DatabaseConfig,
  type DatabaseTimeouts,
} from "./pool.ts";
export { PrismaClient, Prisma, Priority } from "./generated/prisma/client.ts";
export type {
  Account,
  IdempotencyKey,
  Jwks,
  Session,
  Tag,
  Task,
  TaskList,
  TaskTag,
  User,
  Verification,
} from "./generated/prisma/client.ts";
export {
  applyMigrations,
  listMigrations,
  revertMigrations,
  MigrationError,
  PRISMA_MIGRATE_LOCK_ID,
  type MigrateOptions,
  type MigrationLog,
  type MigrationRecord,
  type MigrationState,
  type MigrationStatus,
  type RevertOptions,
} from "./migrate.ts";
export {
  defaultMigrationsDir,
  migrationChecksum,
  readMigrationsDirectory,
  scriptMatchesChecksum,
  type MigrationFile,
  type MigrationsDirectory,
} from "./migration-files.ts";
export {
  startEmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type RunningPostgres,
} from "./embedded-postgres.ts";
export { resolveDatabase, type ResolveDatabaseOptions, type ResolvedDatabase } from "./resolve-database.ts";
