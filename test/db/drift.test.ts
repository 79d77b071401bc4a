import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { get_dmmf } from "@prisma/prisma-schema-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog, type Catalog } from "./catalog.ts";
import { openPrismaSchemaEngine } from "./prisma-schema-engine.ts";

// schema.prisma is the source of truth and prisma/migrations must build exactly it. `prisma migrate
// diff` cannot run here (no native engine), so Prisma's own differ (Wasm build) compares the
// migrated database with the schema: tables, columns, keys, indexes, foreign keys, enum values.
// The catalog checks below are what that differ does not look at.

const schemaPath = fileURLToPath(new URL("../../prisma/schema.prisma", import.meta.url));

let db: TestDatabase;
let schema: string;
let actual: Catalog;

beforeAll(async () => {
  db = await createTestDatabase();
  schema = await readFile(schemaPath, "utf8");
  actual = await readCatalog(db.connectionString);
});

afterAll(async () => {
  await db.drop();
});

/** Each enum's database values in the schema's order, from Prisma's own parser (the DMMF). */
function schemaEnums(): Record<string, string[]> {
  const { datamodel } = JSON.parse(
    get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", schema]] })),
  ) as {
    datamodel: {
      enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[];
    };
  };
  return Object.fromEntries(
    datamodel.enums
      .map((e) => [e.dbName ?? e.name, e.values.map((value) => value.dbName ?? value.name)] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

describe("when the migrations have built a database", () => {
  it("then Prisma's own schema differ finds nothing to migrate", async () => {
    const engine = await openPrismaSchemaEngine({ connectionString: db.connectionString, schema });
    try {
      expect(await engine.diffDatabaseToSchema()).toBe("-- This is an empty migration.\n");
    } finally {
      await engine.close();
    }
  });

  // The differ compares enum values by name only; their order is what ORDER BY priority sorts by.
  it("then the enums have the schema's values in the schema's order", () => {
    expect(actual.enums).toEqual(schemaEnums());
  });

  // The differ does not read check or exclusion constraints, identity or generated columns,
  // partial or expression indexes, nor deferrable foreign keys.
  it("then there are no constraints, columns, indexes or foreign keys of kinds schema.prisma cannot declare", () => {
    const extra = Object.entries(actual.tables).flatMap(([name, table]) => [
      ...Object.entries({ ...table.constraints, ...table.checks }).map(
        ([constraint, definition]) => `${name}.${constraint}: ${definition}`,
      ),
      ...Object.entries(table.columns)
        .filter(([, column]) => column.identity !== "" || column.generated !== "")
        .map(([column]) => `${name}.${column}: identity or generated`),
      ...Object.entries(table.indexes)
        .filter(([, index]) => index.predicate !== null || index.expressions !== null)
        .map(([index]) => `${name}.${index}: partial or on expressions`),
      ...Object.entries(table.foreignKeys)
        .filter(([, key]) => key.deferrable || key.match !== "s")
        .map(([key]) => `${name}.${key}: deferrable or not MATCH SIMPLE`),
    ]);
    expect(extra).toEqual([]);
  });

  // The differ does not read functions, triggers, stand-alone sequences, views, other types or extensions.
  it("then the only objects beyond the schema are the tasks.search trigger and its function", () => {
    expect(Object.keys(actual.functions)).toEqual(["tasks_search_update()"]);
    expect(actual.triggers).toEqual({
      "tasks.tasks_search_update":
        "CREATE TRIGGER tasks_search_update BEFORE INSERT OR UPDATE OF title, description ON public.tasks FOR EACH ROW EXECUTE FUNCTION tasks_search_update()",
    });
    const defaults = Object.values(actual.tables).flatMap((table) =>
      Object.values(table.columns).map((column) => column.default ?? ""),
    );
    expect(actual.sequences.filter((sequence) => !defaults.some((d) => d.includes(`'${sequence}'`)))).toEqual(
      [],
    );
    expect(actual.views).toEqual([]);
    expect(actual.otherTypes).toEqual([]);
    expect(actual.extensions).toEqual(["plpgsql"]);
  });
});
