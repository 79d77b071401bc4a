import { Ajv2020, type AnySchema, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { Response } from "supertest";
import type supertest from "supertest";

export type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";

const METHODS: readonly HttpMethod[] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

type JsonSchema = Record<string, unknown>;

interface HeaderObject {
  required?: boolean;
  schema?: JsonSchema;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: JsonSchema }>;
}

export interface OperationObject {
  summary?: string;
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
  parameters?: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface DocumentedOperation {
  method: HttpMethod;
  /** The path template as documented, e.g. /v1/lists/{id}. */
  path: string;
  operation: OperationObject;
}

export interface OpenApiContract {
  document: OpenApiDocument;
  operations: DocumentedOperation[];
  /**
   * Checks a real response against the document: the operation must be documented, the
   * status must be one of its responses, the content type one of that response's media
   * types, the body valid against its schema and every required header present.
   * Throws with the reasons otherwise; returns the response so calls can be chained.
   */
  validate(res: Response, method: string, path: string): Response;
  /** "GET /v1/lists/{id} 200" for every response validated so far. */
  validated: Set<string>;
}

// The document's local refs (#/components/schemas/X) are rewritten to this base, where
// each component schema is registered once.
const SCHEMA_BASE = "https://openapi.taskmesh.test/components/schemas/";
const COMPONENT_REF = "#/components/schemas/";

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (key === "$ref" && typeof child === "string") {
      if (!child.startsWith(COMPONENT_REF))
        throw new Error(`unsupported $ref ${child}: only ${COMPONENT_REF}* is resolved`);
      const [name = "", ...pointer] = child.slice(COMPONENT_REF.length).split("/");
      out[key] = SCHEMA_BASE + name + (pointer.length > 0 ? `#/${pointer.join("/")}` : "");
    } else {
      out[key] = rewriteRefs(child);
    }
  }
  return out;
}

/** Ajv's errors with where they are and what was extra or missing, e.g. "/tags/0: must be string". */
function describeErrors(where: string, errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const detail = "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : "";
      return `${where}${e.instancePath}: ${e.message ?? e.keyword}${detail}`;
    })
    .join("; ");
}

function templateToRegExp(template: string): RegExp {
  const escaped = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${escaped}$`);
}

/** The media type without parameters, lower-case ("application/json; charset=utf-8" -> "application/json"). */
function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]?.trim().toLowerCase();
}

/** Builds a validator for real responses from an OpenAPI 3.1 document (Ajv, JSON Schema 2020-12). */
export function createOpenApiContract(document: OpenApiDocument): OpenApiContract {
  if (!document.openapi.startsWith("3.1"))
    throw new Error(`expected an OpenAPI 3.1 document, got ${document.openapi}`);

  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  // OpenAPI's own schema keywords, which JSON Schema 2020-12 does not define.
  ajv.addVocabulary(["example", "discriminator", "xml", "externalDocs"]);
  addFormats(ajv);
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
    ajv.addSchema({ ...(rewriteRefs(schema) as JsonSchema), $id: SCHEMA_BASE + name });
  }

  const operations: DocumentedOperation[] = Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
  const validators = new Map<string, ValidateFunction>();
  const validated = new Set<string>();

  function compiled(key: string, schema: JsonSchema): ValidateFunction {
    let validate = validators.get(key);
    if (!validate) {
      validate = ajv.compile(rewriteRefs(schema) as AnySchema);
      validators.set(key, validate);
    }
    return validate;
  }

  function validate(res: Response, methodName: string, path: string): Response {
    const method = methodName.toLowerCase() as HttpMethod;
    const label = `${method.toUpperCase()} ${path}`;
    const operation = document.paths[path]?.[method];
    if (!operation) throw new Error(`${label} is not documented in the OpenAPI document`);

    // Guard against checking a response against the wrong operation.
    const request = res.request as { method?: string; url?: string } | undefined;
    if (request?.url !== undefined) {
      const requestPath = new URL(request.url, "http://localhost").pathname;
      if (!templateToRegExp(path).test(requestPath) || request.method?.toLowerCase() !== method) {
        throw new Error(`the response is for ${String(request.method)} ${requestPath}, not ${label}`);
      }
    }

    const status = String(res.status);
    const documented =
      operation.responses[status] ??
      operation.responses[`${status[0] ?? ""}XX`] ??
      operation.responses.default;
    if (!documented) {
      throw new Error(
        `${label} answered ${status}, which is not documented (documented: ${Object.keys(operation.responses).join(", ")}); body: ${res.text}`,
      );
    }

    const problems: string[] = [];
    for (const [name, header] of Object.entries(documented.headers ?? {})) {
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`the required header ${name} is missing`);
        continue;
      }
      if (header.schema) {
        const check = compiled(`${label} ${status} header ${name}`, header.schema);
        if (!check(value)) problems.push(describeErrors(`header ${name}`, check.errors));
      }
    }

    const type = mediaType(res.headers["content-type"]);
    // supertest leaves text undefined when there was no body at all (204, 304).
    const text = (res.text as string | undefined) ?? "";
    const hasBody = text !== "";
    if (!documented.content || Object.keys(documented.content).length === 0) {
      if (hasBody)
        problems.push(`no body is documented, but the response has one (${String(type)}): ${text}`);
    } else if (type === undefined || !(type in documented.content)) {
      problems.push(
        `content type ${String(type)} is not documented (documented: ${Object.keys(documented.content).join(", ")})`,
      );
    } else {
      const schema = documented.content[type]?.schema;
      if (schema) {
        const check = compiled(`${label} ${status} ${type}`, schema);
        // Validate what was sent, not supertest's parse of it (which skips unknown media types).
        const isJson = type === "application/json" || type.endsWith("+json");
        const body: unknown = !hasBody ? undefined : isJson ? JSON.parse(text) : text;
        if (!check(body)) problems.push(describeErrors("body", check.errors));
      }
    }

    if (problems.length > 0)
      throw new Error(`${label} ${status} does not match the OpenAPI document:\n- ${problems.join("\n- ")}`);
    validated.add(`${label} ${status}`);
    return res;
  }

  return { document, operations, validate, validated };
}

/** Loads /openapi.json from the running app and builds the contract from it. */
export async function loadOpenApiContract(request: ReturnType<typeof supertest>): Promise<OpenApiContract> {
  const res = await request
    .get("/openapi.json")
    .expect(200)
    .expect("Content-Type", /application\/json/);
  return createOpenApiContract(res.body as OpenApiDocument);
}
