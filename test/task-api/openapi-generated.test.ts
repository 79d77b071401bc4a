import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { generateSync, type JsonSchema } from "json-schema-faker";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { TASK_API_PATHS } from "../../services/task-api/src/http/openapi.ts";
import { DOCUMENT, type Method, OPERATIONS, useContractApi } from "../support/task-api-openapi.ts";

const { api, check } = useContractApi();

/** What the server receives for a generated parameter value: strings (and repeated ones as arrays). */
function asSent(value: unknown): unknown {
  return Array.isArray(value) ? value.map(asSent) : typeof value === "string" ? value : JSON.stringify(value);
}

interface ZodOperation {
  requestBody?: { content: Record<string, { schema: z.ZodType }> };
  requestParams?: Partial<Record<"path" | "query" | "header", z.ZodType>>;
}
const ZOD_PATHS = TASK_API_PATHS as unknown as Record<string, Partial<Record<Method, ZodOperation>>>;

const ajv = new Ajv2020({ strict: false });
addFormats(ajv);

/**
 * An instance of a schema of the document made by json-schema-faker, or undefined when the
 * generator made one the document itself refuses (its fault, not the server's).
 */
const roots = new Map<unknown, object>();
function generated(schema: unknown, seed: number): unknown {
  const root = roots.get(schema) ?? { ...(schema as object), components: DOCUMENT.components };
  roots.set(schema, root);
  const value = generateSync(root as JsonSchema, { seed, alwaysFakeOptionals: seed % 2 === 0 });
  return ajv.validate(root, value) ? value : undefined;
}

/** The parameters of one location of an operation, as one object schema. */
function parametersSchema(
  operation: { parameters?: { in: string; name: string; required?: boolean; schema?: object }[] },
  where: string,
) {
  const parameters = (operation.parameters ?? []).filter((p) => p.in === where);
  return {
    type: "object",
    properties: Object.fromEntries(parameters.map((p) => [p.name, p.schema ?? {}])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

/**
 * A generated query as far as the document can say it: a sort that names a key twice is refused
 * by a rule its description states and its pattern cannot, so such a sort is left out.
 */
function documentable(query: Record<string, unknown>): Record<string, unknown> {
  const keys = typeof query.sort === "string" ? query.sort.split(",").map((k) => k.replace(/^-/, "")) : [];
  if (new Set(keys).size === keys.length) return query;
  const { sort: _sort, ...rest } = query;
  return rest;
}

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

describe("generated requests", () => {
  it("when json-schema-faker generates every operation's parameters and bodies, then the server's schemas accept them", () => {
    const refused: string[] = [];
    for (const [method, path] of OPERATIONS) {
      const documented = DOCUMENT.paths[path]?.[method];
      const zod = ZOD_PATHS[path]?.[method];
      if (!documented || !zod) throw new Error(`${method} ${path} has no schemas`);
      const tries: { what: string; schema: unknown; parse: z.ZodType; sent: (v: unknown) => unknown }[] = [];
      for (const where of ["path", "query", "header"] as const) {
        const parse = zod.requestParams?.[where];
        if (parse) {
          tries.push({
            what: where,
            schema: parametersSchema(documented, where),
            parse,
            sent: (v) =>
              documentable(Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, asSent(x)]))),
          });
        }
      }
      for (const [type, media] of Object.entries(zod.requestBody?.content ?? {})) {
        const schema = documented.requestBody?.content[type]?.schema;
        tries.push({ what: type, schema, parse: media.schema, sent: (v) => v });
      }
      for (const { what, schema, parse, sent } of tries) {
        let valid = 0;
        for (const seed of SEEDS) {
          const instance = generated(schema, seed);
          if (instance === undefined) continue;
          valid++;
          const value = sent(instance);
          const result = parse.safeParse(value);
          if (!result.success) {
            refused.push(`${method} ${path} ${what} ${JSON.stringify(value)}: ${result.error.message}`);
          }
        }
        // Most of what the generator makes is valid, so the check above checks something.
        expect(valid, `${method} ${path} ${what}`).toBeGreaterThan(SEEDS.length / 2);
      }
    }
    expect(refused).toEqual([]);
  });

  it("when GET /v1/tasks and every other listing get generated queries (no cursor), then they answer 200 as documented", async () => {
    const user = await api.signUp();
    const listings = OPERATIONS.filter(([method, path]) => method === "get" && !path.includes("{"));
    expect(listings).toContainEqual(["get", "/v1/tasks"]);
    for (const operation of listings) {
      const documented = DOCUMENT.paths[operation[1]]?.get;
      if (!documented) throw new Error(`${operation[1]} is not documented`);
      const schema = parametersSchema(documented, "query");
      for (const seed of SEEDS.slice(0, 10)) {
        const instance = generated(schema, seed) as Record<string, unknown> | undefined;
        if (!instance) continue;
        // A cursor is only valid as a page gave it.
        const { cursor: _cursor, ...query } = instance;
        const search = new URLSearchParams();
        for (const [name, value] of Object.entries(documentable(query))) {
          for (const one of [asSent(value)].flat()) search.append(name, String(one));
        }
        const res = await api.as(user).get(`${operation[1]}?${search.toString()}`);
        check(res, operation, 200);
      }
    }
  });
});
