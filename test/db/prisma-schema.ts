import { get_dmmf } from "@prisma/prisma-schema-wasm";
import type {
  ColumnCatalog,
  ForeignKeyCatalog,
  IndexCatalog,
  ReferentialAction,
  TableCatalog,
} from "./catalog.ts";

// What schema.prisma says the PostgreSQL catalog must contain, computed from Prisma's own parser
// (the DMMF from @prisma/prisma-schema-wasm, the same Wasm module `prisma generate` uses) and the
// rules Prisma Migrate follows on PostgreSQL: default column types, default constraint names,
// default referential actions. Anything this file does not know how to expect throws, so a new
// kind of schema construct fails the drift test loudly instead of being skipped.

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  isList: boolean;
  isRequired: boolean;
  hasDefaultValue: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  isUpdatedAt?: boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: ReferentialAction;
  relationOnUpdate?: ReferentialAction;
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  schema: string | null;
  fields: DmmfField[];
}

interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: "Asc" | "Desc"; length?: number; operatorClass?: string }[];
}

interface DmmfEnum {
  name: string;
  dbName: string | null;
  values: { name: string; dbName: string | null }[];
}

interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
}

export interface ExpectedCatalog {
  tables: Record<string, TableCatalog>;
  enums: Record<string, string[]>;
  sequences: string[];
}

const MAX_IDENTIFIER_LENGTH = 63;

export function readDmmf(schema: string): Dmmf {
  return JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", schema]] }))) as Dmmf;
}

export function expectedCatalog(schema: string): ExpectedCatalog {
  const { datamodel } = readDmmf(schema);
  const blocks = modelBlocks(schema);
  const enumByName = new Map(datamodel.enums.map((enumType) => [enumType.name, enumType]));
  const modelByName = new Map(datamodel.models.map((model) => [model.name, model]));

  const tableName = (model: DmmfModel): string => model.dbName ?? model.name;
  const columnName = (model: DmmfModel, fieldName: string): string => {
    const field = model.fields.find((candidate) => candidate.name === fieldName);
    if (field) return field.dbName ?? field.name;
    // Unsupported(...) fields are absent from the DMMF but can be indexed.
    const unsupported = unsupportedFields(blocks, model.name).find(
      (candidate) => candidate.name === fieldName,
    );
    if (unsupported) return unsupported.column;
    throw new Error(`${model.name}.${fieldName} not found`);
  };

  const enums: Record<string, string[]> = {};
  for (const enumType of sortBy(datamodel.enums, (e) => e.dbName ?? e.name)) {
    enums[enumType.dbName ?? enumType.name] = enumType.values.map((value) => value.dbName ?? value.name);
  }

  const tables: Record<string, TableCatalog> = {};
  const sequences: string[] = [];
  for (const model of datamodel.models) {
    if (model.schema !== null)
      throw new Error(`${model.name}: multi-schema models are not handled by the drift test`);
    const table = tableName(model);
    const columns: Record<string, ColumnCatalog> = {};

    for (const field of model.fields) {
      if (field.kind === "object") continue;
      const column = field.dbName ?? field.name;
      if (field.isList) {
        if (field.hasDefaultValue)
          throw new Error(
            `${model.name}.${field.name}: scalar list defaults are not handled by the drift test`,
          );
        // Prisma creates a scalar list as a nullable array column with no default.
        columns[column] = {
          type: `${columnType(model, field, enumByName)}[]`,
          notNull: false,
          default: null,
          identity: "",
          generated: "",
        };
        continue;
      }
      const type = columnType(model, field, enumByName);
      const fieldDefault = expectedDefault(model, field, table, column, type, enumByName);
      if (fieldDefault.sequence) sequences.push(fieldDefault.sequence);
      columns[column] = {
        type,
        notNull: field.isRequired,
        default: fieldDefault.expression,
        identity: "",
        generated: "",
      };
    }
    for (const field of unsupportedFields(blocks, model.name)) {
      columns[field.column] = {
        type: field.type,
        notNull: field.required,
        default: null,
        identity: "",
        generated: "",
      };
    }

    const indexes: Record<string, IndexCatalog> = {};
    let primaryKey: TableCatalog["primaryKey"] = null;
    for (const index of datamodel.indexes.filter((candidate) => candidate.model === model.name)) {
      const keyColumns = index.fields.map((field) => {
        if (field.length !== undefined)
          throw new Error(`${model.name}: index length is not a PostgreSQL feature`);
        const sort = field.sortOrder === "Desc" ? " DESC" : "";
        const opclass = field.operatorClass === undefined ? "" : ` ${snakeCase(field.operatorClass)}`;
        return `${columnName(model, field.name)}${sort}${opclass}`;
      });
      const plainColumns = index.fields.map((field) => columnName(model, field.name));
      const method = indexMethod(index.algorithm);
      switch (index.type) {
        case "id": {
          const name = constraintName(index.dbName ?? `${table}_pkey`);
          primaryKey = { name, columns: plainColumns };
          indexes[name] = {
            columns: keyColumns,
            unique: true,
            primary: true,
            method,
            predicate: null,
            expressions: null,
          };
          break;
        }
        case "unique": {
          const name = constraintName(index.dbName ?? `${table}_${plainColumns.join("_")}_key`);
          indexes[name] = {
            columns: keyColumns,
            unique: true,
            primary: false,
            method,
            predicate: null,
            expressions: null,
          };
          break;
        }
        case "normal": {
          const name = constraintName(index.dbName ?? `${table}_${plainColumns.join("_")}_idx`);
          indexes[name] = {
            columns: keyColumns,
            unique: false,
            primary: false,
            method,
            predicate: null,
            expressions: null,
          };
          break;
        }
        default:
          throw new Error(`${model.name}: ${index.type} indexes do not exist on PostgreSQL`);
      }
    }

    const foreignKeys: Record<string, ForeignKeyCatalog> = {};
    for (const field of model.fields) {
      if (field.kind !== "object" || !field.relationFromFields?.length) continue;
      const referenced = modelByName.get(field.type);
      if (!referenced) throw new Error(`${model.name}.${field.name}: unknown model ${field.type}`);
      const fromColumns = field.relationFromFields.map((name) => columnName(model, name));
      const anyOptional = field.relationFromFields.some(
        (name) => !(model.fields.find((candidate) => candidate.name === name)?.isRequired ?? true),
      );
      // The FK's `map:` name is not in the DMMF; read it from the relation attribute itself.
      const name = constraintName(
        relationMapName(blocks, model.name, field.name) ?? `${table}_${fromColumns.join("_")}_fkey`,
      );
      foreignKeys[name] = {
        columns: fromColumns,
        referencedTable: tableName(referenced),
        referencedColumns: (field.relationToFields ?? []).map((fieldName) =>
          columnName(referenced, fieldName),
        ),
        // Prisma's defaults: SetNull for an optional relation, Restrict for a required one; Cascade on update.
        onDelete: field.relationOnDelete ?? (anyOptional ? "SetNull" : "Restrict"),
        onUpdate: field.relationOnUpdate ?? "Cascade",
        deferrable: false,
        match: "s",
      };
    }

    tables[table] = {
      columns: sortKeys(columns),
      primaryKey,
      indexes: sortKeys(indexes),
      constraints: {},
      foreignKeys: sortKeys(foreignKeys),
      checks: {},
    };
  }

  return { tables: sortKeys(tables), enums, sequences: sequences.sort() };
}

/** format_type() of the column Prisma Migrate creates for a field. */
function columnType(model: DmmfModel, field: DmmfField, enums: Map<string, DmmfEnum>): string {
  if (field.kind === "enum") {
    const enumType = enums.get(field.type);
    if (!enumType) throw new Error(`${model.name}.${field.name}: unknown enum ${field.type}`);
    return enumType.dbName ?? enumType.name;
  }
  if (field.nativeType) return nativeType(model, field, field.nativeType);
  const defaults: Record<string, string> = {
    String: "text",
    Boolean: "boolean",
    Int: "integer",
    BigInt: "bigint",
    Float: "double precision",
    Decimal: "numeric(65,30)",
    DateTime: "timestamp(3) without time zone",
    Json: "jsonb",
    Bytes: "bytea",
  };
  const type = defaults[field.type];
  if (!type) throw new Error(`${model.name}.${field.name}: no default column type known for ${field.type}`);
  return type;
}

function nativeType(model: DmmfModel, field: DmmfField, [name, args]: [string, string[]]): string {
  const withArgs = (base: string): string => (args.length > 0 ? `${base}(${args.join(",")})` : base);
  const withPrecision = (base: string, suffix: string): string =>
    args.length > 0 ? `${base}(${args.join(",")}) ${suffix}` : `${base} ${suffix}`;
  switch (name) {
    case "Text":
      return "text";
    case "VarChar":
      return withArgs("character varying");
    case "Char":
      return withArgs("character");
    case "Uuid":
      return "uuid";
    case "Boolean":
      return "boolean";
    case "SmallInt":
      return "smallint";
    case "Integer":
      return "integer";
    case "BigInt":
      return "bigint";
    case "Real":
      return "real";
    case "DoublePrecision":
      return "double precision";
    case "Decimal":
      return withArgs("numeric");
    case "Timestamp":
      return withPrecision("timestamp", "without time zone");
    case "Timestamptz":
      return withPrecision("timestamp", "with time zone");
    case "Time":
      return withPrecision("time", "without time zone");
    case "Timetz":
      return withPrecision("time", "with time zone");
    case "Date":
      return "date";
    case "Json":
      return "json";
    case "JsonB":
      return "jsonb";
    case "ByteA":
      return "bytea";
    case "Inet":
      return "inet";
    case "Xml":
      return "xml";
    case "Citext":
      return "citext";
    case "Bit":
      return withArgs("bit");
    case "VarBit":
      return withArgs("bit varying");
    default:
      throw new Error(`${model.name}.${field.name}: @db.${name} is not known to the drift test yet`);
  }
}

/** pg_get_expr() of the default Prisma Migrate creates; client-side defaults create none. */
function expectedDefault(
  model: DmmfModel,
  field: DmmfField,
  table: string,
  column: string,
  type: string,
  enums: Map<string, DmmfEnum>,
): { expression: string | null; sequence?: string } {
  if (!field.hasDefaultValue) return { expression: null };
  const value = field.default;
  if (typeof value === "object" && value !== null && "name" in value) {
    const fn = value as { name: string; args: unknown[] };
    switch (fn.name) {
      case "now":
        return { expression: "CURRENT_TIMESTAMP" };
      case "uuid":
      case "cuid":
      case "nanoid":
      case "ulid":
        // Generated by the Prisma client, never by the database.
        return { expression: null };
      case "autoincrement": {
        const sequence = `${table}_${column}_seq`;
        return { expression: `nextval('${sequence}'::regclass)`, sequence };
      }
      case "dbgenerated":
        return { expression: String(fn.args[0]) };
      default:
        throw new Error(
          `${model.name}.${field.name}: @default(${fn.name}()) is not known to the drift test yet`,
        );
    }
  }
  if (typeof value === "boolean" || typeof value === "number") return { expression: String(value) };
  if (typeof value === "string") {
    if (field.kind === "enum") {
      const label = enums.get(field.type)?.values.find((candidate) => candidate.name === value);
      return { expression: `${quoteLiteral(label?.dbName ?? value)}::${type}` };
    }
    const casts: Record<string, string> = { text: "text", jsonb: "jsonb", json: "json", uuid: "uuid" };
    const cast =
      casts[type] ??
      (type.startsWith("character varying")
        ? "character varying"
        : type.startsWith("character")
          ? "bpchar"
          : undefined);
    if (!cast)
      throw new Error(
        `${model.name}.${field.name}: string default on ${type} is not known to the drift test yet`,
      );
    return { expression: `${quoteLiteral(value)}::${cast}` };
  }
  throw new Error(
    `${model.name}.${field.name}: default ${JSON.stringify(value)} is not known to the drift test yet`,
  );
}

function indexMethod(algorithm: string | undefined): string {
  const methods: Record<string, string> = {
    BTree: "btree",
    Hash: "hash",
    Gist: "gist",
    Gin: "gin",
    SpGist: "spgist",
    Brin: "brin",
  };
  if (algorithm === undefined) return "btree";
  const method = methods[algorithm];
  if (!method) throw new Error(`index type ${algorithm} is not known to the drift test yet`);
  return method;
}

function constraintName(name: string): string {
  // Prisma shortens generated names beyond PostgreSQL's limit in its own way; keep names short
  // (or give them `map:`) rather than re-implementing that here.
  if (name.length > MAX_IDENTIFIER_LENGTH)
    throw new Error(`constraint name ${name} is longer than ${MAX_IDENTIFIER_LENGTH}`);
  return name;
}

// --- the few facts the DMMF leaves out, read from the schema text --------------------------------

interface UnsupportedField {
  name: string;
  column: string;
  type: string;
  required: boolean;
}

function modelBlocks(schema: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  const pattern = /^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm;
  for (const match of schema.matchAll(pattern)) {
    blocks.set(
      match[1] ?? "",
      (match[2] ?? "").split("\n").map((line) => line.replace(/\/\/.*$/, "").trim()),
    );
  }
  return blocks;
}

/** Unsupported("...") fields: the DMMF omits them, Prisma Migrate still creates their columns. */
function unsupportedFields(blocks: Map<string, string[]>, model: string): UnsupportedField[] {
  const fields: UnsupportedField[] = [];
  for (const line of blocks.get(model) ?? []) {
    const match = /^(\w+)\s+Unsupported\("([^"]+)"\)(\?)?(.*)$/.exec(line);
    if (!match) continue;
    const [, name = "", type = "", optional, attributes = ""] = match;
    if (attributes.includes("@default"))
      throw new Error(`${model}.${name}: defaults on Unsupported fields are not known to the drift test yet`);
    const mapped = /@map\("([^"]+)"\)/.exec(attributes)?.[1];
    fields.push({ name, column: mapped ?? name, type, required: optional === undefined });
  }
  return fields;
}

function relationMapName(blocks: Map<string, string[]>, model: string, field: string): string | undefined {
  const line = (blocks.get(model) ?? []).find((candidate) => candidate.startsWith(`${field} `));
  return line === undefined ? undefined : /@relation\([^)]*\bmap:\s*"([^"]+)"/.exec(line)?.[1];
}

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
