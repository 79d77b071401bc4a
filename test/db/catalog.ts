import pg from "pg";

// A deterministic snapshot of everything a migration can create in the connection's current
// schema, read from the PostgreSQL catalog. Keys are sorted so snapshots compare with toEqual.

export interface ColumnCatalog {
  /** format_type(): "character varying(200)", "timestamp(3) with time zone", "priority", ... */
  type: string;
  notNull: boolean;
  /** pg_get_expr of the default, null without one. */
  default: string | null;
  /** attidentity / attgenerated: "" when the column is neither. */
  identity: string;
  generated: string;
}

export interface IndexCatalog {
  /** Key columns in order, " DESC" appended for descending ones, " <opclass>" for a non-default operator class. */
  columns: string[];
  unique: boolean;
  primary: boolean;
  /** Access method: btree, gin, gist, hash, ... */
  method: string;
  /** Partial-index predicate, expression keys: null for plain column indexes. */
  predicate: string | null;
  expressions: string | null;
}

/** Referential actions named as in Prisma schemas. */
export type ReferentialAction = "Cascade" | "Restrict" | "NoAction" | "SetNull" | "SetDefault";

export interface ForeignKeyCatalog {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
  deferrable: boolean;
  /** Match type: "s" (simple) is what Prisma creates. */
  match: string;
}

export interface TableCatalog {
  columns: Record<string, ColumnCatalog>;
  primaryKey: { name: string; columns: string[] } | null;
  /** Every index, including the ones behind primary keys and unique constraints. */
  indexes: Record<string, IndexCatalog>;
  /** Unique and exclusion constraints (Prisma makes unique indexes, not constraints). */
  constraints: Record<string, string>;
  foreignKeys: Record<string, ForeignKeyCatalog>;
  checks: Record<string, string>;
}

export interface Catalog {
  tables: Record<string, TableCatalog>;
  /** Enum name -> labels in sort order. */
  enums: Record<string, string[]>;
  /** "name(args)" -> pg_get_functiondef. */
  functions: Record<string, string>;
  /** "table.trigger" -> pg_get_triggerdef (internal FK triggers excluded). */
  triggers: Record<string, string>;
  sequences: string[];
  views: string[];
  /** Domains, composite, range and multirange types (enums and table row types excluded). */
  otherTypes: string[];
  extensions: string[];
}

const ACTIONS: Record<string, ReferentialAction> = {
  a: "NoAction",
  r: "Restrict",
  c: "Cascade",
  n: "SetNull",
  d: "SetDefault",
};

export interface ReadCatalogOptions {
  /** _prisma_migrations is bookkeeping, not schema: left out unless asked for. */
  includeMigrationsTable?: boolean;
}

export async function readCatalog(
  connectionString: string,
  options: ReadCatalogOptions = {},
): Promise<Catalog> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await readCatalogWith(
      client,
      options.includeMigrationsTable ? new Set() : new Set(["_prisma_migrations"]),
    );
  } finally {
    await client.end();
  }
}

async function readCatalogWith(client: pg.Client, ignoredTables: Set<string>): Promise<Catalog> {
  const rows = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> =>
    (await client.query<T>(sql)).rows;
  const namespace = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

  const tableRows = await rows<{ table: string }>(
    `SELECT relname AS table FROM pg_class WHERE relnamespace = ${namespace} AND relkind IN ('r', 'p')`,
  );
  const tables: Record<string, TableCatalog> = {};
  for (const { table } of sortBy(tableRows, (row) => row.table)) {
    if (ignoredTables.has(table)) continue;
    tables[table] = {
      columns: {},
      primaryKey: null,
      indexes: {},
      constraints: {},
      foreignKeys: {},
      checks: {},
    };
  }
  const tableOf = (name: string): TableCatalog | undefined => tables[name];

  const columnRows = await rows<{
    table: string;
    column: string;
    type: string;
    not_null: boolean;
    default: string | null;
    identity: string;
    generated: string;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
            a.attidentity::text AS identity, a.attgenerated::text AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = ${namespace} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  for (const row of sortBy(columnRows, (r) => `${r.table}.${r.column}`)) {
    const table = tableOf(row.table);
    if (!table) continue;
    table.columns[row.column] = {
      type: row.type,
      notNull: row.not_null,
      default: row.default,
      identity: row.identity,
      generated: row.generated,
    };
  }

  const indexRows = await rows<{
    table: string;
    index: string;
    unique: boolean;
    primary: boolean;
    method: string;
    columns: string[];
    predicate: string | null;
    expressions: string | null;
  }>(
    `SELECT t.relname AS table, i.relname AS index, x.indisunique AS unique, x.indisprimary AS primary,
            am.amname AS method, pg_get_expr(x.indpred, x.indrelid) AS predicate,
            pg_get_expr(x.indexprs, x.indrelid) AS expressions,
            ARRAY(
              SELECT a.attname
                     || CASE WHEN (x.indoption[(k.ord - 1)::int] & 1) = 1 THEN ' DESC' ELSE '' END
                     || CASE WHEN oc.opcdefault THEN '' ELSE ' ' || oc.opcname END
                FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                JOIN pg_opclass oc ON oc.oid = x.indclass[(k.ord - 1)::int]
               WHERE k.ord <= x.indnkeyatts
               ORDER BY k.ord
            ) AS columns
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_am am ON am.oid = i.relam
      WHERE t.relnamespace = ${namespace}`,
  );
  for (const row of sortBy(indexRows, (r) => `${r.table}.${r.index}`)) {
    const table = tableOf(row.table);
    if (!table) continue;
    table.indexes[row.index] = {
      columns: row.columns,
      unique: row.unique,
      primary: row.primary,
      method: row.method,
      predicate: row.predicate,
      expressions: row.expressions,
    };
  }

  const constraintRows = await rows<{
    table: string;
    name: string;
    type: string;
    definition: string;
    columns: string[];
    referenced_table: string | null;
    referenced_columns: string[];
    on_delete: string;
    on_update: string;
    deferrable: boolean;
    match: string;
  }>(
    `SELECT t.relname AS table, con.conname AS name, con.contype::text AS type,
            pg_get_constraintdef(con.oid) AS definition,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            rt.relname AS referenced_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS referenced_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update,
            con.condeferrable AS deferrable, con.confmatchtype::text AS match
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       LEFT JOIN pg_class rt ON rt.oid = con.confrelid
      WHERE t.relnamespace = ${namespace}`,
  );
  for (const row of sortBy(constraintRows, (r) => `${r.table}.${r.name}`)) {
    const table = tableOf(row.table);
    if (!table) continue;
    switch (row.type) {
      case "p":
        table.primaryKey = { name: row.name, columns: row.columns };
        break;
      case "f":
        table.foreignKeys[row.name] = {
          columns: row.columns,
          referencedTable: row.referenced_table ?? "?",
          referencedColumns: row.referenced_columns,
          onDelete: ACTIONS[row.on_delete] ?? "NoAction",
          onUpdate: ACTIONS[row.on_update] ?? "NoAction",
          deferrable: row.deferrable,
          match: row.match,
        };
        break;
      case "c":
        table.checks[row.name] = row.definition;
        break;
      case "n":
        // PostgreSQL 18 records NOT NULL as constraints too; attnotnull above already covers them.
        break;
      default:
        table.constraints[row.name] = `${row.type}: ${row.definition}`;
    }
  }

  const enumRows = await rows<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
       FROM pg_type t WHERE t.typnamespace = ${namespace} AND t.typtype = 'e'`,
  );
  const enums: Record<string, string[]> = {};
  for (const row of sortBy(enumRows, (r) => r.name)) enums[row.name] = row.labels;

  // Objects that belong to an extension are the extension's, not the migrations'.
  const notFromExtension = (classId: string, oid: string): string =>
    `NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '${classId}'::regclass AND dep.objid = ${oid} AND dep.deptype = 'e')`;

  const functionRows = await rows<{ signature: string; definition: string }>(
    `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
            pg_get_functiondef(p.oid) AS definition
       FROM pg_proc p WHERE p.pronamespace = ${namespace} AND ${notFromExtension("pg_proc", "p.oid")}`,
  );
  const functions: Record<string, string> = {};
  for (const row of sortBy(functionRows, (r) => r.signature)) functions[row.signature] = row.definition;

  const triggerRows = await rows<{ key: string; definition: string }>(
    `SELECT c.relname || '.' || t.tgname AS key, pg_get_triggerdef(t.oid) AS definition
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = ${namespace} AND NOT t.tgisinternal`,
  );
  const triggers: Record<string, string> = {};
  for (const row of sortBy(triggerRows, (r) => r.key)) triggers[row.key] = row.definition;

  const relationNames = async (kinds: string): Promise<string[]> =>
    (
      await rows<{ name: string }>(
        `SELECT relname AS name FROM pg_class c WHERE relnamespace = ${namespace} AND relkind IN (${kinds})
            AND ${notFromExtension("pg_class", "c.oid")}`,
      )
    )
      .map((row) => row.name)
      .sort();

  const otherTypes = (
    await rows<{ name: string }>(
      `SELECT t.typname || ' (' || t.typtype::text || ')' AS name FROM pg_type t
        WHERE t.typnamespace = ${namespace} AND t.typtype IN ('c', 'd', 'r', 'm')
          AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND ${notFromExtension("pg_type", "t.oid")}`,
    )
  )
    .map((row) => row.name)
    .sort();

  const extensions = (await rows<{ name: string }>(`SELECT extname AS name FROM pg_extension`))
    .map((row) => row.name)
    .sort();

  return {
    tables,
    enums,
    functions,
    triggers,
    sequences: await relationNames("'S'"),
    views: await relationNames("'v', 'm'"),
    otherTypes,
    extensions,
  };
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
