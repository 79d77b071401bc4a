import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog, type Catalog } from "./catalog.ts";
import { expectedCatalog, type ExpectedCatalog } from "./prisma-schema.ts";
import { openPrismaSchemaEngine } from "./prisma-schema-engine.ts";

// schema.prisma is the source of truth and prisma/migrations must build exactly it. `prisma migrate
// diff` cannot run here (no native engine), so this compares the migrated database's catalog with
// what the schema's DMMF demands, and then asks Prisma's own differ (Wasm build) as well.

const schemaPath = fileURLToPath(new URL("../../prisma/schema.prisma", import.meta.url));

let db: TestDatabase;
let schema: string;
let actual: Catalog;
let expected: ExpectedCatalog;

beforeAll(async () => {
  db = await createTestDatabase();
  schema = await readFile(schemaPath, "utf8");
  actual = await readCatalog(db.connectionString);
  expected = expectedCatalog(schema);
});

afterAll(async () => {
  await db.drop();
});

const project = <T>(tables: Record<string, T>, pick: (table: T) => unknown): Record<string, unknown> =>
  Object.fromEntries(Object.entries(tables).map(([name, table]) => [name, pick(table)]));

describe("when the migrations have built a database", () => {
  it("then it has exactly the tables of schema.prisma", () => {
    expect(Object.keys(actual.tables).sort()).toEqual(Object.keys(expected.tables).sort());
  });

  it("then every table has exactly the schema's columns, with their types, nullability and defaults", () => {
    expect(project(actual.tables, (table) => table.columns)).toEqual(
      project(expected.tables, (table) => table.columns),
    );
  });

  it("then every primary key has the schema's columns in order and Prisma's name", () => {
    expect(project(actual.tables, (table) => table.primaryKey)).toEqual(
      project(expected.tables, (table) => table.primaryKey),
    );
  });

  it("then the indexes are exactly the schema's @id, @unique, @@unique and @@index, with column order and method", () => {
    expect(project(actual.tables, (table) => table.indexes)).toEqual(
      project(expected.tables, (table) => table.indexes),
    );
  });

  it("then the foreign keys have the schema's columns, referenced columns and referential actions", () => {
    expect(project(actual.tables, (table) => table.foreignKeys)).toEqual(
      project(expected.tables, (table) => table.foreignKeys),
    );
  });

  it("then there are no check, unique or exclusion constraints that the schema does not declare", () => {
    expect(project(actual.tables, (table) => ({ ...table.constraints, ...table.checks }))).toEqual(
      project(expected.tables, () => ({})),
    );
  });

  it("then the enums have the schema's values in the schema's order", () => {
    expect(actual.enums).toEqual(expected.enums);
  });

  it("then the only objects beyond the schema are the tasks.search trigger and its function", () => {
    expect(Object.keys(actual.functions)).toEqual(["tasks_search_update()"]);
    expect(actual.triggers).toEqual({
      "tasks.tasks_search_update":
        "CREATE TRIGGER tasks_search_update BEFORE INSERT OR UPDATE OF title, description ON public.tasks FOR EACH ROW EXECUTE FUNCTION tasks_search_update()",
    });
    expect(actual.sequences).toEqual(expected.sequences);
    expect(actual.views).toEqual([]);
    expect(actual.otherTypes).toEqual([]);
    expect(actual.extensions).toEqual(["plpgsql"]);
  });

  it("then Prisma's own schema differ finds nothing to migrate", async () => {
    const engine = await openPrismaSchemaEngine({ connectionString: db.connectionString, schema });
    try {
      expect(await engine.diffDatabaseToSchema()).toBe("-- This is an empty migration.\n");
    } finally {
      await engine.close();
    }
  });
});
