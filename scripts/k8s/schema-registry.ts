/**
 * Turns the upstream schemas provisioned by scripts/k8s/schemas.sh into JSON Schemas that ajv
 * can check rendered manifests against, keyed by apiVersion and kind:
 *
 * - Kubernetes: the OpenAPI v3 documents of every group/version of the targeted release, plus
 *   the enum values from that release's generated OpenAPI definitions (the committed documents
 *   omit them; a live API server publishes them and rejects other values).
 * - Dapr: the `openAPIV3Schema` of every served version of Dapr's CRDs, with `metadata` checked
 *   as a Kubernetes ObjectMeta (as the API server does for every custom resource).
 *
 * The conversion follows what `kubectl apply --validate=strict` makes the API server enforce:
 * unknown fields are errors (an object schema with `properties` gets `additionalProperties:
 * false`, unless `x-kubernetes-preserve-unknown-fields`), `x-kubernetes-int-or-string` accepts
 * both, `x-kubernetes-list-type: map` rejects duplicate keys and `set` duplicate items. Every
 * schema keyword is mapped explicitly: an unknown one fails the load instead of being ignored.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments } from "yaml";

/** A JSON Schema as ajv takes it. */
export type JsonSchema = Record<string, unknown>;

/** Id under which the Kubernetes definitions are registered with ajv (`k8s#/definitions/<name>`). */
export const K8S_SCHEMA_ID = "k8s";

/** Custom ajv keyword: the keys of an `x-kubernetes-list-type: map` list ({@link ListMapKey}[]). */
export const LIST_MAP_KEYS_KEYWORD = "k8sListMapKeys";

/** Custom format: a Kubernetes resource.Quantity string ("100m", "128Mi", "1.5"). */
export const QUANTITY_FORMAT = "k8s-quantity";

/** The formats the converted schemas may name (ajv-formats' set plus {@link QUANTITY_FORMAT}). */
export const KNOWN_FORMATS = [
  "date",
  "time",
  "date-time",
  "duration",
  "uri",
  "uri-reference",
  "uri-template",
  "url",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "regex",
  "uuid",
  "json-pointer",
  "relative-json-pointer",
  "byte",
  "int32",
  "int64",
  "float",
  "double",
  "password",
  "binary",
  QUANTITY_FORMAT,
] as const;

export interface SchemaRegistry {
  /** Targeted versions, from versions.json ({ kubernetes: "v1.36.3", dapr: "v1.18.0" }). */
  versions: { kubernetes: string; dapr: string };
  /** Every Kubernetes definition, to register with ajv under {@link K8S_SCHEMA_ID}. */
  kubernetesDefinitions: Record<string, JsonSchema>;
  /** Root schema of each known kind, keyed by {@link gvkKey}. */
  kinds: Map<string, KindSchema>;
  /** How many enum lists from the generated definitions were applied, and which were not. */
  enums: { applied: number; unmatched: string[] };
}

export interface KindSchema {
  apiVersion: string;
  kind: string;
  /** "kubernetes" or the CRD it comes from ("components.dapr.io"). */
  source: string;
  schema: JsonSchema;
  /** CEL rules (x-kubernetes-validations) in the schema: not evaluated offline. */
  celRules: number;
}

export function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

const QUANTITY_DEFINITION = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const OBJECT_META_DEFINITION = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/** Loads the directory printed by scripts/k8s/schemas.sh. */
export async function loadSchemaRegistry(dir: string): Promise<SchemaRegistry> {
  const versions = JSON.parse(
    await readFile(path.join(dir, "versions.json"), "utf8"),
  ) as SchemaRegistry["versions"];
  const kinds = new Map<string, KindSchema>();

  // --- Kubernetes -----------------------------------------------------------------------------
  const openapiDir = path.join(dir, "kubernetes", "openapi-v3");
  const raw: Record<string, JsonSchema> = {};
  for (const file of (await readdir(openapiDir)).filter((f) => f.endsWith(".json")).sort()) {
    const doc = JSON.parse(await readFile(path.join(openapiDir, file), "utf8")) as {
      components?: { schemas?: Record<string, JsonSchema> };
    };
    Object.assign(raw, doc.components?.schemas ?? {});
  }
  if (Object.keys(raw).length === 0) throw new Error(`no OpenAPI v3 definitions in ${openapiDir}`);

  const goDefinitions = await readFile(path.join(dir, "kubernetes", "zz_generated.openapi.go"), "utf8");
  const enums = applyEnums(raw, parseGeneratedEnums(goDefinitions));

  const kubernetesDefinitions: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(raw)) {
    const converted = convertSchema(schema, { crd: false, celRules: 0, definitions: raw });
    kubernetesDefinitions[name] = name === QUANTITY_DEFINITION ? quantitySchema() : converted;
    for (const gvk of asArray(schema["x-kubernetes-group-version-kind"])) {
      const { group, version, kind } = gvk as { group: string; version: string; kind: string };
      const apiVersion = group ? `${group}/${version}` : version;
      const key = gvkKey(apiVersion, kind);
      // A few shared types (DeleteOptions, WatchEvent) name every group; the first wins.
      if (!kinds.has(key)) {
        kinds.set(key, {
          apiVersion,
          kind,
          source: "kubernetes",
          schema: { $ref: `${K8S_SCHEMA_ID}#/definitions/${name}` },
          celRules: 0,
        });
      }
    }
  }

  // --- Dapr CRDs ------------------------------------------------------------------------------
  const crdDir = path.join(dir, "dapr", "crds");
  const crdFiles = (await readdir(crdDir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (crdFiles.length === 0) throw new Error(`no CRDs in ${crdDir}`);
  for (const file of crdFiles) {
    for (const doc of parseAllDocuments(await readFile(path.join(crdDir, file), "utf8"))) {
      const crd = doc.toJS() as CustomResourceDefinition | null;
      if (crd?.kind !== "CustomResourceDefinition") continue;
      for (const version of crd.spec.versions) {
        if (!version.served) continue;
        const root = version.schema?.openAPIV3Schema;
        if (!root) throw new Error(`${file}: ${crd.metadata.name} ${version.name} has no openAPIV3Schema`);
        const ctx = { crd: true, celRules: 0, definitions: raw };
        const schema = convertSchema(root, ctx);
        // The API server validates a custom resource's metadata as ObjectMeta, whatever the CRD says.
        (schema.properties as Record<string, JsonSchema>).metadata = {
          $ref: `${K8S_SCHEMA_ID}#/definitions/${OBJECT_META_DEFINITION}`,
        };
        const apiVersion = `${crd.spec.group}/${version.name}`;
        kinds.set(gvkKey(apiVersion, crd.spec.names.kind), {
          apiVersion,
          kind: crd.spec.names.kind,
          source: crd.metadata.name,
          schema,
          celRules: ctx.celRules,
        });
      }
    }
  }

  return { versions, kubernetesDefinitions, kinds, enums };
}

interface CustomResourceDefinition {
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

interface ConvertContext {
  /** Structural CRD schema: an object schema with no fields listed accepts none. */
  crd: boolean;
  celRules: number;
  /** The unconverted Kubernetes definitions, to look through a $ref. */
  definitions: Record<string, JsonSchema>;
}

/** One key of an `x-kubernetes-list-type: map` list, with the default the server fills in. */
export interface ListMapKey {
  name: string;
  default?: unknown;
}

/** A schema, or the definition it refers to (directly or through a one-element allOf). */
function resolve(schema: JsonSchema | undefined, ctx: ConvertContext): JsonSchema | undefined {
  const ref = schema?.$ref ?? (schema?.allOf as JsonSchema[] | undefined)?.[0]?.$ref;
  if (typeof ref !== "string") return schema;
  return ctx.definitions[ref.replace(/^#\/components\/schemas\//, "")];
}

/** Keywords dropped because they do not constrain a value (documentation, defaults, SMP hints). */
const IGNORED = new Set([
  "description",
  "default",
  "example",
  "externalDocs",
  "title",
  "readOnly",
  "writeOnly",
  "deprecated",
  "discriminator",
  "x-kubernetes-group-version-kind",
  "x-kubernetes-patch-strategy",
  "x-kubernetes-patch-merge-key",
  "x-kubernetes-map-type",
  "x-kubernetes-unions",
  "x-kubernetes-selectable-fields",
  // Kubernetes checks an embedded object's apiVersion/kind/metadata only when it is stored; the
  // schema around it already lists those fields where it matters.
  "x-kubernetes-embedded-resource",
]);

/** Keywords copied unchanged (their meaning is the same in OpenAPI v3 and JSON Schema draft 7). */
const COPIED = new Set([
  "type",
  "required",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "multipleOf",
]);

function convertSchema(node: JsonSchema, ctx: ConvertContext): JsonSchema {
  const out: JsonSchema = {};
  const preserveUnknown = node["x-kubernetes-preserve-unknown-fields"] === true;
  for (const [key, value] of Object.entries(node)) {
    if (IGNORED.has(key) || COPIED.has(key)) {
      if (COPIED.has(key)) out[key] = value;
      continue;
    }
    switch (key) {
      case "$ref": {
        const match = /^#\/components\/schemas\/(.+)$/.exec(String(value));
        if (!match) throw new Error(`unsupported $ref ${String(value)}`);
        out.$ref = `${K8S_SCHEMA_ID}#/definitions/${match[1] ?? ""}`;
        break;
      }
      case "properties":
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, convertSchema(v, ctx)]),
        );
        break;
      case "additionalProperties":
        out.additionalProperties =
          typeof value === "boolean" ? value : convertSchema(value as JsonSchema, ctx);
        break;
      case "items":
        out.items = convertSchema(value as JsonSchema, ctx);
        break;
      case "allOf":
      case "anyOf":
      case "oneOf":
        out[key] = (value as JsonSchema[]).map((v) => convertSchema(v, ctx));
        break;
      case "not":
        out.not = convertSchema(value as JsonSchema, ctx);
        break;
      case "exclusiveMinimum":
      case "exclusiveMaximum": {
        // OpenAPI 3.0 (and CRDs): a boolean beside minimum/maximum; JSON Schema 7: the bound itself.
        const bound = key === "exclusiveMinimum" ? "minimum" : "maximum";
        if (value === true) out[key] = node[bound];
        else if (typeof value === "number") out[key] = value;
        break;
      }
      case "format":
        // Unknown formats (e.g. "int-or-string", which the oneOf already expresses) constrain nothing.
        if ((KNOWN_FORMATS as readonly string[]).includes(String(value))) out.format = value;
        break;
      case "nullable":
      case "x-kubernetes-preserve-unknown-fields":
      case "x-kubernetes-int-or-string":
      case "x-kubernetes-list-type":
      case "x-kubernetes-list-map-keys":
        break; // handled below
      case "x-kubernetes-validations":
        ctx.celRules += asArray(value).length;
        break;
      default:
        throw new Error(`unsupported schema keyword ${JSON.stringify(key)}`);
    }
  }
  // COPIED keywords ran in insertion order; "minimum" must not be overwritten by the boolean pass.
  if (node.exclusiveMinimum === true) delete out.minimum;
  if (node.exclusiveMaximum === true) delete out.maximum;

  if (node["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    delete out.anyOf;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  const listType = node["x-kubernetes-list-type"];
  if (listType === "set") out.uniqueItems = true;
  if (listType === "map") {
    // The server applies defaults before it compares keys: {containerPort: 80} and
    // {containerPort: 80, protocol: TCP} are the same entry.
    const itemProps = resolve(node.items as JsonSchema | undefined, ctx)?.properties as
      Record<string, JsonSchema> | undefined;
    const keys: ListMapKey[] = asArray(node["x-kubernetes-list-map-keys"]).map((k) => {
      const name = String(k);
      const fallback = itemProps?.[name]?.default;
      return fallback === undefined ? { name } : { name, default: fallback };
    });
    if (keys.length > 0) out[LIST_MAP_KEYS_KEYWORD] = keys;
  }
  const isObject = node.type === "object" || (node.type === undefined && node.properties !== undefined);
  if (isObject && !preserveUnknown && node.additionalProperties === undefined) {
    // Strict field validation: a field the schema does not list is an error. In a structural
    // CRD schema that holds for `type: object` with no properties too (the server prunes all).
    if (node.properties !== undefined || ctx.crd) out.additionalProperties = false;
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    else return { anyOf: [{ type: "null" }, out] };
  }
  return out;
}

/** resource.Quantity: a string in Kubernetes' quantity syntax, or a plain number. */
function quantitySchema(): JsonSchema {
  return { oneOf: [{ type: "string", format: QUANTITY_FORMAT }, { type: "number" }] };
}

/**
 * The grammar in resource.Quantity's documentation (signed decimal number, then a binary SI,
 * decimal SI or decimal exponent suffix).
 */
export const QUANTITY_PATTERN =
  /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

interface GeneratedEnum {
  /** The generator's function for the definition, without "schema_" ("k8sio_api_core_v1_ServicePort"). */
  fn: string;
  property: string;
  /** Whether the enum is on the property, on its array items or on its map values. */
  items: false | "items" | "additionalProperties";
  values: string[];
}

/**
 * Reads `Enum: []interface{}{...}` lists out of Kubernetes' generated OpenAPI definitions
 * (pkg/generated/openapi/zz_generated.openapi.go), which gofmt lays out the same way in every
 * release: a `schema_<package path>_<Type>` function per definition, each property a
 * 5-tab-indented `"name": {` entry, an enum on the property itself or on its `Items` or
 * `AdditionalProperties`.
 */
export function parseGeneratedEnums(source: string): GeneratedEnum[] {
  const found: GeneratedEnum[] = [];
  let fn = "";
  let property = "";
  let items: GeneratedEnum["items"] = false;
  for (const line of source.split("\n")) {
    const fnMatch = /^func schema_(\w+)\(/.exec(line);
    if (fnMatch) {
      fn = fnMatch[1] ?? "";
      property = "";
      continue;
    }
    const propMatch = /^\t{5}"([^"]+)": \{$/.exec(line);
    if (propMatch) {
      property = propMatch[1] ?? "";
      items = false;
      continue;
    }
    if (/^\t+Items: /.test(line)) items = "items";
    if (/^\t+AdditionalProperties: /.test(line)) items = "additionalProperties";
    const enumMatch = /^\t+Enum:\s+\[\]interface\{\}\{(.*)\},$/.exec(line);
    if (enumMatch && fn && property) {
      const values = [...(enumMatch[1] ?? "").matchAll(/"((?:[^"\\]|\\.)*)"/g)].map(
        (v) => JSON.parse(`"${v[1] ?? ""}"`) as string,
      );
      found.push({ fn, property, items, values });
    }
  }
  return found;
}

/**
 * The generator names a definition's function after its Go package path with "." dropped from
 * the domain and "/", "." and "-" made "_" ("io.k8s.api.core.v1.ServicePort" ->
 * k8sio_api_core_v1_ServicePort); for some modules it drops the module prefix
 * (pkg_apis_apiextensions_v1_...). So a function names the one definition whose name ends with it.
 */
function definitionForFunction(fn: string, byFunctionName: Map<string, string>): string | undefined {
  const exact = byFunctionName.get(fn);
  if (exact) return exact;
  const candidates = [...byFunctionName].filter(([name]) => name.endsWith(`_${fn}`));
  return candidates.length === 1 ? candidates[0]?.[1] : undefined;
}

function applyEnums(
  definitions: Record<string, JsonSchema>,
  found: GeneratedEnum[],
): SchemaRegistry["enums"] {
  const byFunctionName = new Map<string, string>();
  for (const name of Object.keys(definitions)) {
    const [tld, domain, ...rest] = name.split(".");
    byFunctionName.set([`${domain ?? ""}${tld ?? ""}`, ...rest].join("_").replace(/-/g, "_"), name);
  }
  let applied = 0;
  const unmatched: string[] = [];
  for (const e of found) {
    // The generated file also defines types no served group/version publishes (old betas,
    // internal helper types): nothing to apply there.
    const name = definitionForFunction(e.fn, byFunctionName);
    const definition = name === undefined ? undefined : definitions[name];
    if (!definition) continue;
    let target = (definition.properties as Record<string, JsonSchema> | undefined)?.[e.property];
    if (target && e.items) target = target[e.items] as JsonSchema | undefined;
    if (target?.type === "string") {
      target.enum = e.values;
      applied++;
    } else {
      unmatched.push(`${name ?? e.fn}.${e.property}${e.items ? `.${e.items}` : ""}`);
    }
  }
  return { applied, unmatched };
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
