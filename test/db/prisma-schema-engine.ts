import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  ColumnTypeEnum,
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import * as glue from "@prisma/schema-engine-wasm/schema_engine_bg";
import type {
  DiagnoseMigrationHistoryOutput,
  MigrationList,
  SchemaEngine,
  SchemaFilter,
} from "@prisma/schema-engine-wasm/schema_engine_bg";
import { readMigrationsDirectory } from "@taskmesh/db";
import { testPool } from "../support/postgres.ts";

// Prisma's own schema engine (the Wasm build of the code behind `prisma migrate`), driven through
// @prisma/adapter-pg, so tests can ask Prisma itself: is there drift, would `migrate deploy`
// accept this history? The native engine that the CLI needs cannot be downloaded here.
//
// Two shims make the adapter behave like the native engine's own PostgreSQL connection:
// - adapter-pg rejects columns of type "char" (OID 18) as unsupported, and Prisma's schema
//   describer reads pg_catalog "char" columns (relkind, contype, ...): they are handed over as the
//   Character column type, which the describer expects.
// - adapter-pg's executeScript splits a migration on ";" and runs the pieces one by one, which
//   breaks $$-quoted function bodies and atomicity; the native engine sends the whole script as one
//   simple query (sql-schema-connector flavour/postgres/connection.rs, apply_migration_script).

const PG_CHAR_OID = 18;
const TEXT_OID = 25;
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

interface WasmGlue {
  __wbg_set_wasm(exports: Record<string, unknown>): void;
}

// The repository compiles against lib ES2024 without DOM, which has no WebAssembly typings.
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

let engineModule: Promise<typeof glue> | undefined;

function loadEngineModule(): Promise<typeof glue> {
  // Instantiated by hand rather than through the package's `import "./x.wasm"` entry, which needs
  // Node's experimental Wasm ESM integration.
  engineModule ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(gluePath.replace(/\.js$/, ".wasm"));
    const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": glue });
    (glue as unknown as WasmGlue).__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  return engineModule;
}

export interface PrismaSchemaEngine {
  /** The SQL Prisma would generate to bring the database to the schema ("-- This is an empty migration." when none). */
  diffDatabaseToSchema(): Promise<string>;
  /** `prisma migrate deploy`: applies the pending migrations, returns their names. */
  applyMigrations(migrationsDir: string): Promise<string[]>;
  /** What `prisma migrate status` / `migrate dev` check: edited or failed migrations, divergence. */
  diagnoseMigrationHistory(migrationsDir: string): Promise<DiagnoseMigrationHistoryOutput>;
  close(): Promise<void>;
}

export async function openPrismaSchemaEngine(options: {
  connectionString: string;
  schema: string;
}): Promise<PrismaSchemaEngine> {
  const wasm = await loadEngineModule();
  const panics: string[] = [];
  const registry = globalThis as unknown as {
    PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void };
  };
  registry.PRISMA_WASM_PANIC_REGISTRY = { set_message: (message) => panics.push(message) };

  const pool = testPool(options.connectionString, 2);
  const adapters: SqlDriverAdapter[] = [];
  const factory = new PrismaPg(pool);
  const shimmed: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => track(shim(await factory.connect())),
    connectToShadowDb: async () => track(shim(await factory.connectToShadowDb())),
  };
  const track = (adapter: SqlDriverAdapter): SqlDriverAdapter => {
    adapters.push(adapter);
    return adapter;
  };

  let engine: SchemaEngine;
  try {
    engine = await wasm.SchemaEngine.new(
      { datamodels: [["schema.prisma", options.schema]] },
      () => undefined,
      bindMigrationAwareSqlAdapterFactory(shimmed),
    );
  } catch (error) {
    await pool.end();
    throw error;
  }

  const call = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (panics.length > 0)
        throw new Error(`Prisma schema engine panicked: ${panics.join("\n")}`, { cause: error });
      throw error;
    }
  };

  return {
    diffDatabaseToSchema: () =>
      call(async () => {
        const result = await engine.diff({
          from: {
            tag: "schemaDatasource",
            files: [{ path: "schema.prisma", content: options.schema }],
            configDir: process.cwd(),
          },
          to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: options.schema }] },
          script: true,
          exitCode: null,
          filters: NO_FILTER,
        });
        return result.stdout ?? "";
      }),
    applyMigrations: (migrationsDir) =>
      call(async () => {
        const output = await engine.applyMigrations({
          migrationsList: await migrationList(migrationsDir),
          filters: NO_FILTER,
        });
        return output.appliedMigrationNames;
      }),
    diagnoseMigrationHistory: (migrationsDir) =>
      call(async () =>
        engine.diagnoseMigrationHistory({
          migrationsList: await migrationList(migrationsDir),
          optInToShadowDatabase: false,
          filters: NO_FILTER,
        }),
      ),
    close: async () => {
      engine.free();
      for (const adapter of adapters) await adapter.dispose().catch(() => undefined);
      await pool.end();
    },
  };
}

/** The MigrationList the Prisma CLI builds from the migrations directory. */
async function migrationList(migrationsDir: string): Promise<MigrationList> {
  const directory = await readMigrationsDirectory(migrationsDir);
  const lockfile = await readFile(`${migrationsDir}/migration_lock.toml`, "utf8").catch(() => null);
  return {
    baseDir: migrationsDir,
    lockfile: { path: "migration_lock.toml", content: lockfile },
    shadowDbInitScript: "",
    migrationDirectories: directory.migrations.map((migration) => ({
      path: migration.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok", value: migration.script } },
    })),
  };
}

interface PgQueryResult {
  fields: { dataTypeID: number }[];
  rows: unknown[][];
}

interface PgAdapterInternals {
  performIO(query: unknown): Promise<PgQueryResult>;
  queryRaw(query: unknown): Promise<{ columnTypes: number[]; rows: unknown[][] }>;
  onError(error: unknown): never;
  underlyingDriver(): { query(sql: string): Promise<unknown> };
}

function shim(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const internals = adapter as unknown as PgAdapterInternals;
  const charColumns = new WeakMap<unknown[][], number[]>();

  const performIO = internals.performIO.bind(adapter);
  internals.performIO = async (query) => {
    const result = await performIO(query);
    const indexes: number[] = [];
    result.fields.forEach((field, index) => {
      if (field.dataTypeID === PG_CHAR_OID) {
        field.dataTypeID = TEXT_OID;
        indexes.push(index);
      }
    });
    if (indexes.length > 0) charColumns.set(result.rows, indexes);
    return result;
  };

  const queryRaw = internals.queryRaw.bind(adapter);
  internals.queryRaw = async (query) => {
    const result = await queryRaw(query);
    for (const index of charColumns.get(result.rows) ?? [])
      result.columnTypes[index] = ColumnTypeEnum.Character;
    return result;
  };

  adapter.executeScript = async (script: string) => {
    try {
      await internals.underlyingDriver().query(script);
    } catch (error) {
      internals.onError(error);
    }
  };
  return adapter;
}
