/**
 * Offline validation of taskmesh's Kubernetes manifests: `renderOverlay` runs the pinned
 * kustomize (scripts/k8s/kustomize.sh) on k8s/overlays/<name>, `validateObjects` checks each
 * rendered object against the schema of its apiVersion/kind — the targeted Kubernetes release's
 * OpenAPI and Dapr's CRDs (scripts/k8s/schemas.sh, see schema-registry.ts) — as strictly as
 * `kubectl apply --validate=strict` would make the API server: unknown fields, wrong types,
 * missing required fields, values outside an enum, malformed quantities, duplicate list-map
 * keys, and any kind without a schema are errors. The CLI is validate-overlays.ts
 * (`npm run k8s:validate`).
 *
 * Not checked here (no cluster): CEL rules (`x-kubernetes-validations`), admission webhooks and
 * the API server's hand-written validation beyond the schema (e.g. label value syntax).
 */
import { spawn } from "node:child_process";
import { access, readdir } from "node:fs/promises";
import path from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { parseAllDocuments } from "yaml";
import { runProvisioningScript, type ProgressLog } from "../stack/binaries.ts";
import {
  gvkKey,
  K8S_SCHEMA_ID,
  KNOWN_FORMATS,
  LIST_MAP_KEYS_KEYWORD,
  loadSchemaRegistry,
  QUANTITY_FORMAT,
  type ListMapKey,
  QUANTITY_PATTERN,
  type SchemaRegistry,
} from "./schema-registry.ts";

export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");
export const OVERLAYS_DIR = path.join(REPO_ROOT, "k8s", "overlays");

export type { ProgressLog } from "../stack/binaries.ts";

export interface ValidationResult {
  /** "Kind/name" (with the namespace, when it has one: "Kind/namespace/name"). */
  object: string;
  /** One line per problem: "<JSON path>: <what is wrong>"; empty when the object is valid. */
  errors: string[];
}

/** Path of the pinned kustomize (built from the Go module proxy and cached on first use). */
export function ensureKustomize(log: ProgressLog = () => undefined): Promise<string> {
  return runProvisioningScript("scripts/k8s/kustomize.sh", [], log);
}

/** Directory of the Kubernetes OpenAPI and Dapr CRD schemas (downloaded and cached on first use). */
export function ensureSchemas(log: ProgressLog = () => undefined): Promise<string> {
  return runProvisioningScript("scripts/k8s/schemas.sh", [], log);
}

/** Names of the overlays under k8s/overlays/ (directories with a kustomization file). */
export async function listOverlays(): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(OVERLAYS_DIR);
  } catch {
    return [];
  }
  const overlays: string[] = [];
  for (const name of entries.sort()) {
    for (const file of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
      try {
        await access(path.join(OVERLAYS_DIR, name, file));
        overlays.push(name);
        break;
      } catch {
        // not this file name
      }
    }
  }
  return overlays;
}

/** `kustomize build k8s/overlays/<name>`, parsed into plain objects. */
export function renderOverlay(name: string): Promise<object[]> {
  if (!/^[\w.-]+$/.test(name))
    return Promise.reject(new Error(`invalid overlay name ${JSON.stringify(name)}`));
  return renderKustomization(path.join(OVERLAYS_DIR, name));
}

/**
 * `kustomize build <dir>` with kustomize's default load restrictions (those of
 * `kubectl apply -k`), parsed into plain objects. A YAML problem in the output (e.g. a
 * duplicate key) is an error.
 */
export async function renderKustomization(dir: string): Promise<object[]> {
  const kustomize = await ensureKustomize();
  const yamlText = await new Promise<string>((resolve, reject) => {
    const child = spawn(kustomize, ["build", dir], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else
        reject(
          new Error(
            `kustomize build ${path.relative(REPO_ROOT, dir)} failed (exit ${code}):\n${Buffer.concat(err).toString("utf8").trim()}`,
          ),
        );
    });
  });
  const objects: object[] = [];
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0)
      throw new Error(`kustomize output of ${dir}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new Error(
        `kustomize output of ${dir}: a document that is not an object: ${JSON.stringify(value)}`,
      );
    }
    objects.push(value);
  }
  return objects;
}

export interface Validator {
  registry: SchemaRegistry;
  ajv: Ajv;
  compiled: Map<string, ValidateFunction>;
}

let validatorPromise: Promise<Validator> | undefined;

/** The schemas, loaded and registered with ajv once per process. */
export function loadValidator(log: ProgressLog = () => undefined): Promise<Validator> {
  validatorPromise ??= (async () => {
    const registry = await loadSchemaRegistry(await ensureSchemas(log));
    const ajv = new Ajv({
      allErrors: true,
      strict: true,
      // OpenAPI lists `properties` without `type` and `required` fields it does not describe.
      strictTypes: false,
      strictRequired: false,
      allowUnionTypes: true,
      formats: { [QUANTITY_FORMAT]: QUANTITY_PATTERN },
    });
    addFormats(ajv, { formats: KNOWN_FORMATS.filter((f) => f !== QUANTITY_FORMAT) });
    ajv.addKeyword({
      keyword: LIST_MAP_KEYS_KEYWORD,
      type: "array",
      schemaType: "array",
      errors: true,
      validate: function listMapKeys(keys: ListMapKey[], data: unknown[]): boolean {
        const seen = new Map<string, number>();
        const problems: Partial<ErrorObject>[] = [];
        data.forEach((item, index) => {
          if (item === null || typeof item !== "object") return;
          const record = item as Record<string, unknown>;
          const key = keys
            .map((k) => `${k.name}=${JSON.stringify(record[k.name] ?? k.default ?? null)}`)
            .join(", ");
          const first = seen.get(key);
          if (first === undefined) seen.set(key, index);
          else
            problems.push({
              keyword: LIST_MAP_KEYS_KEYWORD,
              message: `duplicate entries for key [${key}] (items ${first} and ${index})`,
              params: { keys },
            });
        });
        (listMapKeys as { errors?: Partial<ErrorObject>[] }).errors = problems;
        return problems.length === 0;
      },
    });
    ajv.addSchema({ $id: K8S_SCHEMA_ID, definitions: registry.kubernetesDefinitions });
    return { registry, ajv, compiled: new Map() };
  })();
  validatorPromise.catch(() => {
    validatorPromise = undefined; // let a later call retry (e.g. after provisioning is fixed)
  });
  return validatorPromise;
}

/** Targeted versions ({ kubernetes: "v1.36.3", dapr: "v1.18.0" }). */
export async function targetVersions(): Promise<SchemaRegistry["versions"]> {
  return (await loadValidator()).registry.versions;
}

/**
 * Validates each object against the schema of its apiVersion/kind; one result per object, in
 * order, with an empty `errors` list when it is valid. An object whose kind has no schema (not
 * a Kubernetes kind of the targeted release, not a served version of a Dapr CRD) is an error.
 */
export async function validateObjects(objects: object[]): Promise<ValidationResult[]> {
  const v = await loadValidator();
  return objects.map((object) => validateOne(v, object));
}

function validateOne(v: Validator, object: object): ValidationResult {
  const o = object as Record<string, unknown>;
  const meta = (typeof o.metadata === "object" && o.metadata !== null ? o.metadata : {}) as Record<
    string,
    unknown
  >;
  const kind = typeof o.kind === "string" ? o.kind : "";
  const apiVersion = typeof o.apiVersion === "string" ? o.apiVersion : "";
  const name = typeof meta.name === "string" ? meta.name : "";
  const namespace = typeof meta.namespace === "string" ? meta.namespace : "";
  const label = `${kind || "<no kind>"}/${namespace ? `${namespace}/` : ""}${name || "<no name>"}`;

  const errors: string[] = [];
  if (!apiVersion) errors.push("apiVersion: missing");
  if (!kind) errors.push("kind: missing");
  if (!name) errors.push("metadata.name: missing (kubectl apply needs a name)");
  if (!apiVersion || !kind) return { object: label, errors };

  const key = gvkKey(apiVersion, kind);
  const entry = v.registry.kinds.get(key);
  if (!entry) {
    const sameKind = [...v.registry.kinds.values()].filter((k) => k.kind === kind).map((k) => k.apiVersion);
    const hint = sameKind.length > 0 ? `; ${kind} is served as ${sameKind.join(", ")}` : "";
    errors.push(
      `apiVersion/kind: no schema for ${apiVersion} ${kind} in Kubernetes ${v.registry.versions.kubernetes} or Dapr ${v.registry.versions.dapr}${hint}`,
    );
    return { object: label, errors };
  }
  let validate = v.compiled.get(key);
  if (!validate) {
    validate = v.ajv.compile(entry.schema);
    v.compiled.set(key, validate);
  }
  if (!validate(object)) errors.push(...formatErrors(validate.errors ?? [], object));
  return { object: label, errors };
}

/**
 * ajv's errors as "<path>: <problem>" lines. A failed oneOf/anyOf (IntOrString, Quantity,
 * nullable) is reported once, with the alternatives, instead of once per branch.
 */
function formatErrors(errors: ErrorObject[], root: unknown): string[] {
  const unions = errors.filter((e) => e.keyword === "oneOf" || e.keyword === "anyOf");
  const lines: string[] = [];
  for (const e of errors) {
    const insideUnion = unions.some(
      (u) => u !== e && e.instancePath === u.instancePath && e.schemaPath.startsWith(`${u.schemaPath}/`),
    );
    if (insideUnion) continue;
    const at = jsonPath(e.instancePath, root);
    const value = valueAt(e.instancePath, root);
    const where = at || "(object)";
    switch (e.keyword) {
      case "additionalProperties": {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        lines.push(`${joinPath(at, field, value)}: unknown field "${field}"`);
        break;
      }
      case "required": {
        const field = (e.params as { missingProperty: string }).missingProperty;
        lines.push(`${joinPath(at, field, value)}: missing required field "${field}"`);
        break;
      }
      case "enum": {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((a) =>
          JSON.stringify(a),
        );
        lines.push(
          `${where}: unsupported value ${JSON.stringify(value)}; supported values: ${allowed.join(", ")}`,
        );
        break;
      }
      case "type":
        lines.push(
          value === null
            ? `${where}: null is not allowed here (remove the field or give it a value)`
            : `${where}: must be ${(e.params as { type: string }).type}, got ${describe(value)}`,
        );
        break;
      case "oneOf":
      case "anyOf": {
        const branches = errors
          .filter((b) => b.instancePath === e.instancePath && b.schemaPath.startsWith(`${e.schemaPath}/`))
          .map((b) =>
            b.keyword === "type"
              ? (b.params as { type: string }).type
              : b.keyword === "format"
                ? formatLabel((b.params as { format: string }).format)
                : (b.message ?? b.keyword),
          );
        const options = [...new Set(branches)].join(" or ");
        lines.push(`${where}: must be ${options || "one of the allowed forms"}, got ${describe(value)}`);
        break;
      }
      case "format":
        lines.push(
          `${where}: ${JSON.stringify(value)} is not ${formatLabel((e.params as { format: string }).format)}`,
        );
        break;
      default:
        lines.push(`${where}: ${e.message ?? e.keyword}`);
    }
  }
  return [...new Set(lines)];
}

function formatLabel(format: string): string {
  if (format === QUANTITY_FORMAT) return 'a quantity string (e.g. "250m", "128Mi")';
  if (format === "byte") return "base64 (put plain text in stringData)";
  return `a valid ${format} value`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "number" || typeof value === "boolean") return `${typeof value} ${String(value)}`;
  return typeof value;
}

function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function valueAt(pointer: string, root: unknown): unknown {
  let cur: unknown = root;
  for (const seg of pointerSegments(pointer)) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** A JSON pointer as kubectl prints paths: spec.template.spec.containers[0].ports[1]. */
function jsonPath(pointer: string, root: unknown): string {
  let cur: unknown = root;
  let out = "";
  for (const seg of pointerSegments(pointer)) {
    out = Array.isArray(cur) ? `${out}[${seg}]` : joinPath(out, seg, cur);
    cur = cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function joinPath(base: string, field: string, container: unknown): string {
  if (Array.isArray(container)) return `${base}[${field}]`;
  const part = /^[A-Za-z_$][\w$-]*$/.test(field) ? field : `[${JSON.stringify(field)}]`;
  if (!base || part.startsWith("[")) return `${base}${part}`;
  return `${base}.${part}`;
}
