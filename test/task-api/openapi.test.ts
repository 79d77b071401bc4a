import { execFileSync } from "node:child_process";
import { createSidecarClient } from "@taskmesh/dapr";
import type { PrismaClient } from "@taskmesh/db";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { Express } from "express";
import { generateSync, type JsonSchema } from "json-schema-faker";
import type { Response, Test } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { Database } from "../../services/task-api/src/data/database.ts";
import {
  auditLogTaskHistory,
  type TaskHistory,
  type TaskHistoryPage,
} from "../../services/task-api/src/data/task-history.client.ts";
import { createOpenApiDocument, TASK_API_PATHS } from "../../services/task-api/src/http/openapi.ts";
import { loadOpenApiContract, type OpenApiContract, type OpenApiDocument } from "../support/openapi.ts";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi, type TestUser } from "../support/task-api.ts";

type Method = "get" | "post" | "patch" | "delete";
type Operation = readonly [Method, string];

const METHODS: readonly Method[] = ["get", "post", "patch", "delete"];
/** The document as the app serves it, built here too so the operation lists below come from it. */
const DOCUMENT = JSON.parse(JSON.stringify(createOpenApiDocument(TEST_PUBLIC_URL))) as OpenApiDocument;
/** Every documented operation; the first test checks that they are exactly the routes the app mounts. */
const OPERATIONS: readonly Operation[] = Object.entries(DOCUMENT.paths).flatMap(([path, item]) =>
  METHODS.filter((method) => item[method]).map((method): Operation => [method, path]),
);

const WITH_ID = OPERATIONS.filter(([, path]) => path.includes("{id}"));
const isTokens = (path: string): boolean => path.startsWith("/v1/tokens");
// Tokens have no versions (a token is created and revoked, never changed).
const WITH_IF_MATCH = OPERATIONS.filter(
  ([method, path]) => path.includes("{id}") && method !== "get" && !isTokens(path),
);
const WITH_BODY = OPERATIONS.filter(([method]) => method === "post" || method === "patch");
const WITH_SCHEMA_BODY = WITH_BODY.filter(([, path]) => !/complete|reopen/.test(path));
const PAGED = OPERATIONS.filter(
  ([method, path]) => method === "get" && !path.includes("{id}") && path !== "/v1/me",
);
const WRITES = OPERATIONS.filter(([method]) => method !== "get");
/** Only the user in person (session or its own access token) may: 403 for any token. */
const IN_PERSON = OPERATIONS.filter(
  ([method, path]) => isTokens(path) || (method === "delete" && path === "/v1/me"),
);
/** Writes a read-only token is refused (those not already in person only). */
const READ_ONLY_REFUSED = WRITES.filter((operation) => !IN_PERSON.includes(operation));

/** A body each operation accepts, so a test reaches the part it is about. */
const VALID_BODY: Partial<Record<string, object>> = {
  "patch /v1/me": { name: "Valid Name" },
  "post /v1/lists": { name: "Valid list" },
  "patch /v1/lists/{id}": { name: "Valid list" },
  "post /v1/tasks": { title: "Valid task" },
  "patch /v1/tasks/{id}": { title: "Valid task" },
  "post /v1/tokens": { name: "Valid token", scope: "read", expiresInDays: 30 },
};

/**
 * History pages by task id. This file checks responses against the document, so the history
 * comes from here; the real path (task-api -> sidecars -> audit-log) is tested in
 * task-history.test.ts.
 */
const recordedHistory = new Map<string, TaskHistoryPage>();
const history: TaskHistory = {
  read: ({ taskId }) => Promise.resolve(recordedHistory.get(taskId) ?? { data: [], nextCursor: null }),
};

let api: TestTaskApi;
let contract: OpenApiContract;
beforeAll(async () => {
  api = await startTaskApi({ taskHistory: history });
  contract = await loadOpenApiContract(api.request);
});
afterAll(async () => {
  await api.close();
});

function call(
  target: TestTaskApi,
  [method, template]: Operation,
  options: { id?: string; auth?: TestUser; body?: object } = {},
): Test {
  const path = template.replace("{id}", options.id ?? crypto.randomUUID());
  let req = target.request[method](path);
  if (options.auth) req = req.set(options.auth.auth);
  const body = options.body ?? VALID_BODY[`${method} ${template}`];
  return body === undefined ? req : req.send(body);
}

/** Asserts the status, then checks the whole response against the document. */
function check(res: Response, [method, path]: Operation, status: number): Response {
  expect(res.status, `${method.toUpperCase()} ${path}: ${res.text}`).toBe(status);
  return contract.validate(res, method, path);
}

interface Link {
  operationId: string;
  parameters?: Record<string, string>;
}
/** The parts of an operation and its responses that the support types leave out. */
interface Linked {
  operationId?: string;
}
const linksOf = (response: object | undefined): Record<string, Link> =>
  (response as { links?: Record<string, Link> } | undefined)?.links ?? {};

/** The Express app behind a test server (http.createServer(app) makes it the request listener). */
function appOf(target: TestTaskApi): Express {
  const [app] = target.server.listeners("request");
  if (typeof app !== "function" || !("router" in app))
    throw new Error("the server's listener is not an Express app");
  return app as Express;
}

interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean | undefined> };
  handle?: { stack?: RouterLayer[] };
}

/** Every route an Express 5 app mounts, as "method /path/{param}", found by walking its routers. */
function mountedRoutes(app: Express): string[] {
  const join = (prefix: string, path: string) =>
    `${prefix}/${path}`.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  const found = new Set<string>();
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = join(prefix, String(layer.route.path)).replace(/:(\w+)/g, "{$1}");
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== "_all") found.add(`${method} ${path}`);
        }
      } else if (layer.handle?.stack) {
        if (typeof layer.rawPath !== "string")
          throw new Error(`a router mounted at ${String(layer.rawPath)}`);
        walk(layer.handle.stack, join(prefix, layer.rawPath));
      }
    }
  };
  walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack, "");
  return [...found].sort();
}

/** The component schema a response's JSON body refers to, or the inline schema. */
function bodySchema(response: { content?: Record<string, { schema?: Record<string, unknown> }> }) {
  const schema = response.content?.["application/json"]?.schema;
  const ref = schema?.$ref;
  return typeof ref === "string"
    ? DOCUMENT.components?.schemas?.[ref.replace("#/components/schemas/", "")]
    : schema;
}

/** Whether a link's runtime expression names a body property or header that the response documents. */
function resolvable(
  expression: string,
  response: {
    headers?: Record<string, unknown>;
    content?: Record<string, { schema?: Record<string, unknown> }>;
  },
): boolean {
  const property = /^\$response\.body#\/(\w+)$/.exec(expression)?.[1];
  if (property) {
    const schema = bodySchema(response) as { properties?: object; required?: string[] } | undefined;
    return Boolean(
      schema?.properties && property in schema.properties && schema.required?.includes(property),
    );
  }
  const header = /^\$response\.header\.([\w-]+)$/.exec(expression)?.[1];
  return (
    header !== undefined &&
    Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === header.toLowerCase())
  );
}

/** Every `pattern` in the document, with where it is. */
function patternsIn(value: unknown, at = "#"): { at: string; pattern: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => patternsIn(v, `${at}/${String(i)}`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === "pattern" && typeof child === "string"
      ? [{ at, pattern: child }]
      : patternsIn(child, `${at}/${key}`),
  );
}

const python = (() => {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Strings to try every pattern on: commas, C0 and C1 controls, emoji, non-BMP, dates, ids. */
const SAMPLES = [
  "",
  "a",
  "tag",
  "Docs",
  "a b",
  "a,b",
  ",",
  " ",
  "\u0000",
  "a\u0001b",
  "a\tb",
  "\u001f",
  "\u007f",
  "a\u0080",
  "\u009f",
  "\u00a0",
  "é",
  "日本",
  "😀",
  "a😀b",
  "𝄞",
  "\ud83d",
  "\ude00x",
  "\u2028",
  "\ufeff",
  "\ufffd",
  "2026-12-01",
  "2026-02-29",
  "2024-02-29",
  "2026-13-01",
  "2026-12-01T09:00:00Z",
  "2026-12-01T09:00:00.5Z",
  "2026-12-01T09:00:00+01:00",
  "2026-12-01T24:00:00Z",
  "01936f4e-8a3b-7c2d-9e1f-0a1b2c3d4e5f",
  "00000000-0000-0000-0000-000000000000",
  "01936f4e-8a3b-0c2d-9e1f-0a1b2c3d4e5f",
  "a@example.com",
  "a.b@example.co",
  "@example.com",
  "a\n",
  "\na",
];

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

describe("the document", () => {
  it("when /openapi.json is read, then it is OpenAPI 3.1 for this server with exactly the routes mounted under /v1", () => {
    expect(contract.document.openapi).toMatch(/^3\.1\.\d+$/);
    expect((contract.document as unknown as { servers: { url: string }[] }).servers).toEqual([
      { url: TEST_PUBLIC_URL },
    ]);
    expect(contract.document).toEqual(DOCUMENT);
    const documented = contract.operations.map((o) => `${o.method} ${o.path}`).sort();
    const mounted = mountedRoutes(appOf(api)).filter((route) => route.split(" ")[1]?.startsWith("/v1/"));
    expect(mounted).toContain("get /v1/tasks/{id}");
    expect(documented).toEqual(mounted);
  });

  it("when any operation is read, then it has an operationId of its own", () => {
    const ids = contract.operations.map(({ operation }) => (operation as Linked).operationId);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("when a create answers 201, then it links to every operation on what it created", () => {
    const creates = contract.operations.filter(
      ({ method, operation }) => method === "post" && "201" in operation.responses,
    );
    expect(creates.length).toBeGreaterThan(0);
    for (const { path, operation } of creates) {
      const linked = Object.values(linksOf(operation.responses["201"])).map((link) => link.operationId);
      const onCreated = contract.operations
        .filter((o) => o.path.startsWith(`${path}/{id}`))
        .map(({ operation: target }) => (target as Linked).operationId);
      expect(onCreated.length, path).toBeGreaterThan(0);
      expect(linked, path).toEqual(expect.arrayContaining(onCreated));
    }
  });

  it("when any link is read, then its operation exists and gets every required parameter from values the response has", () => {
    const byId = new Map(contract.operations.map((o) => [(o.operation as Linked).operationId, o]));
    let links = 0;
    for (const { method, path, operation } of contract.operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [name, link] of Object.entries(linksOf(response))) {
          links++;
          const label = `${method} ${path} ${status} ${name}`;
          const target = byId.get(link.operationId);
          expect(target, label).toBeDefined();
          const parameters = target?.operation.parameters ?? [];
          for (const [key, expression] of Object.entries(link.parameters ?? {})) {
            const [where, named] = key.includes(".") ? key.split(/\.(.*)/) : [undefined, key];
            expect(
              parameters.some((p) => p.name === named && (where === undefined || p.in === where)),
              `${label}: ${target?.path ?? "?"} has no parameter ${key}`,
            ).toBe(true);
            expect(resolvable(expression, response), `${label}: ${key} = ${expression}`).toBe(true);
          }
          for (const required of parameters.filter((p) => p.required)) {
            expect(Object.keys(link.parameters ?? {}), `${label}: ${required.name}`).toContain(required.name);
          }
        }
      }
    }
    expect(links).toBeGreaterThan(0);
  });

  it("when any operation is read, then it requires a bearer token or session and documents 401, 429, 500 and 503", () => {
    for (const { operation, method, path } of contract.operations) {
      const label = `${method} ${path}`;
      expect((operation as { security?: unknown }).security, label).toEqual([
        { bearer: [] },
        { session: [] },
      ]);
      expect(Object.keys(operation.responses), label).toEqual(
        expect.arrayContaining(["401", "429", "500", "503"]),
      );
    }
  });

  it("when a response is not documented for the operation, then the checker rejects it", async () => {
    const user = await api.signUp();
    const res = await api.request.get("/v1/me").set(user.auth).expect(200);

    expect(() => contract.validate(res, "get", "/v1/nowhere")).toThrow(/not documented/);
    expect(() => contract.validate(res, "get", "/v1/lists")).toThrow(
      /not for GET \/v1\/lists|is for GET \/v1\/me/,
    );
    const teapot = {
      status: 418,
      text: res.text,
      headers: res.headers,
      request: res.request,
    } as unknown as Response;
    expect(() => contract.validate(teapot, "get", "/v1/me")).toThrow(/418, which is not documented/);
  });

  it("when a body breaks the documented schema, then the checker names the field", async () => {
    const user = await api.signUp();
    const res = await api.request.get("/v1/me").set(user.auth).expect(200);
    const text = JSON.stringify({ ...(res.body as object), timeZone: 5 });
    const broken = { status: 200, text, headers: res.headers, request: res.request } as unknown as Response;

    expect(() => contract.validate(broken, "get", "/v1/me")).toThrow(/timeZone/);
  });
});

describe("patterns", () => {
  const patterns = patternsIn(DOCUMENT);

  it("when the document is read, then it has patterns (the checks below check something)", () => {
    expect(patterns.length).toBeGreaterThan(0);
  });

  it("when any pattern is compiled without the u flag, then it compiles and means what it means with u", () => {
    for (const { at, pattern } of patterns) {
      // Unicode property and code point escapes and named groups: not in Python's re, nor without u.
      expect(pattern, at).not.toMatch(/\\[pP]\{|\\u\{|\(\?<[A-Za-z]/);
      const plain = new RegExp(pattern);
      const unicode = new RegExp(pattern, "u");
      for (const sample of SAMPLES) {
        expect(plain.test(sample), `${at} ${pattern} on ${JSON.stringify(sample)}`).toBe(
          unicode.test(sample),
        );
      }
    }
  });

  it.skipIf(!python)(
    "when any pattern is compiled by Python's re, then it compiles and agrees with ECMA-262",
    () => {
      // Python's $ also matches before a final newline; generators built on re allow for it.
      const samples = SAMPLES.filter((s) => !s.endsWith("\n"));
      const script = [
        "import json, re, sys",
        "patterns, samples = json.load(sys.stdin)",
        "print(json.dumps([[re.search(p, s) is not None for s in samples] for p in patterns]))",
      ].join("\n");
      const answers = JSON.parse(
        execFileSync("python3", ["-c", script], {
          input: JSON.stringify([patterns.map((p) => p.pattern), samples]),
          encoding: "utf8",
        }),
      ) as boolean[][];
      patterns.forEach(({ at, pattern }, i) => {
        const ecma = samples.map((s) => new RegExp(pattern, "u").test(s));
        expect(answers[i], `${at} ${pattern}`).toEqual(ecma);
      });
    },
  );

  it("when the tag name pattern is read, then it accepts what the server accepts: no commas, no controls (Cc), not blank", () => {
    const tag = DOCUMENT.components?.schemas?.CreateTask as {
      properties: { tags: { items: { pattern: string } } };
    };
    // With and without u: a generator may use either.
    const patterns = [
      new RegExp(tag.properties.tags.items.pattern),
      new RegExp(tag.properties.tags.items.pattern, "u"),
    ];
    // The rule before the pattern was written out (\p{Cc}), on the name as the server sees it: trimmed.
    const server = (name: string) => /^[^,\p{Cc}]+$/u.test(name.trim());
    const chars = [
      ...Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)),
      "😀",
      "𝄞",
      "\u{10ffff}",
      "\u{e0001}",
    ];
    for (const c of chars) {
      for (const sample of [c, `a${c}`, `${c}b`, `a${c}b`, ` ${c} `, `${c}${c}`]) {
        const trimmed = sample.trim();
        for (const pattern of patterns) {
          // Whatever the pattern lets a generator make, the server accepts.
          if (pattern.test(sample)) expect(server(sample), JSON.stringify(sample)).toBe(true);
          // And on a trimmed name (what the server tests) it is the rule before.
          expect(pattern.test(trimmed), JSON.stringify(trimmed)).toBe(server(trimmed) && trimmed !== "");
        }
      }
    }
  });
});

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
        const res = await api.request.get(`${operation[1]}?${search.toString()}`).set(user.auth);
        check(res, operation, 200);
      }
    }
  });
});

describe("links", () => {
  it("when each create's links are followed on what it created, then every linked operation succeeds as documented", async () => {
    const user = await api.signUp();
    let followed = 0;
    for (const create of contract.operations.filter(
      ({ method, operation }) => method === "post" && "201" in operation.responses,
    )) {
      for (const [name, link] of Object.entries(linksOf(create.operation.responses["201"]))) {
        const source: Operation = [create.method as Method, create.path];
        const made = check(await call(api, source, { auth: user }), source, 201);
        const target = contract.operations.find(
          (o) => (o.operation as Linked).operationId === link.operationId,
        );
        if (!target) throw new Error(`${name}: no operation ${link.operationId}`);
        const values = Object.entries(link.parameters ?? {}).map(([key, expression]) => {
          const body = /^\$response\.body#\/(\w+)$/.exec(expression)?.[1];
          const header = /^\$response\.header\.([\w-]+)$/.exec(expression)?.[1];
          const value = body
            ? (made.body as Record<string, unknown>)[body]
            : made.headers[String(header).toLowerCase()];
          const parameter = target.operation.parameters?.find((p) => p.name === key);
          return { in: parameter?.in, name: key, value: String(value) };
        });
        let path = target.path;
        for (const v of values.filter((v) => v.in === "path")) path = path.replace(`{${v.name}}`, v.value);
        const operation: Operation = [target.method as Method, target.path];
        let req = api.request[operation[0]](path).set(user.auth);
        const body = VALID_BODY[`${operation[0]} ${operation[1]}`];
        if (body) req = req.send(body);
        for (const v of values.filter((v) => v.in === "query")) req = req.query({ [v.name]: v.value });
        for (const v of values.filter((v) => v.in === "header")) req = req.set(v.name, v.value);
        const res = await req;
        expect(res.status, `${create.path} ${name}: ${res.text}`).toBeLessThan(300);
        contract.validate(res, operation[0], operation[1]);
        followed++;
      }
    }
    expect(followed).toBeGreaterThan(0);
  });
});

describe("/docs", () => {
  it("when /docs is opened, then it is an HTML page whose scripts and styles are all served here (no CDN)", async () => {
    const page = await api.request
      .get("/docs")
      .expect(200)
      .expect("Content-Type", /text\/html/);

    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(assets).toEqual(expect.arrayContaining(["/docs/assets/swagger-ui-bundle.js", "/docs/init.js"]));
    expect(page.text).not.toMatch(/https?:\/\/|src="\/\/|href="\/\//);
    for (const asset of assets) {
      expect(asset.startsWith("/")).toBe(true);
      const res = await api.request.get(asset);
      expect(res.status, asset).toBe(200);
      expect(res.headers["content-type"], asset).toMatch(asset.endsWith(".css") ? /text\/css/ : /javascript/);
      expect(Number(res.headers["content-length"] ?? (res.text || "").length), asset).toBeGreaterThan(0);
    }
  });

  it("when the docs start, then they load this server's /openapi.json", async () => {
    const init = await api.request.get("/docs/init.js").expect(200);

    expect(init.text).toContain('"/openapi.json"');
  });
});

describe("success responses match the document", () => {
  const op = (method: Method, path: string): Operation => [method, path];

  /** A user with a list, a task with every field set, a subtask with a due instant and a bare task. */
  async function seeded(): Promise<{ user: TestUser; listId: string; richTaskId: string }> {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    const listId = (
      (await api.request.post("/v1/lists").set(user.auth).send({ name: "Contract" }).expect(201)).body as {
        id: string;
      }
    ).id;
    const rich = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({
        title: "Rich task",
        description: "With **every** field set",
        priority: "high",
        tags: ["contract", "Docs"],
        listId,
        dueAt: "2026-12-01",
        recurrence: "FREQ=WEEKLY;BYDAY=MO",
        remindAt: "2026-11-30T08:00:00+01:00",
      })
      .expect(201);
    const richTaskId = (rich.body as { id: string }).id;
    await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ title: "Subtask", parentId: richTaskId, dueAt: "2026-12-01T09:00:00Z" })
      .expect(201);
    await api.request.post("/v1/tasks").set(user.auth).send({ title: "Bare task" }).expect(201);
    return { user, listId, richTaskId };
  }

  async function created(user: TestUser, path: "/v1/lists" | "/v1/tasks", body: object): Promise<string> {
    return ((await api.request.post(path).set(user.auth).send(body).expect(201)).body as { id: string }).id;
  }

  it("when GET /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp({ timeZone: "Asia/Kolkata" });

    check(await api.request.get("/v1/me").set(user.auth), op("get", "/v1/me"), 200);
  });

  it("when PATCH /v1/me succeeds, then it matches", async () => {
    const user = await api.signUp();

    check(
      await api.request
        .patch("/v1/me")
        .set(user.auth)
        .send({ name: "Contract User", timeZone: "America/Sao_Paulo" }),
      op("patch", "/v1/me"),
      200,
    );
  });

  it("when DELETE /v1/me succeeds, then it matches", async () => {
    const { user } = await seeded();

    check(await api.request.delete("/v1/me").set(user.auth), op("delete", "/v1/me"), 204);
  });

  it("when GET /v1/lists succeeds, on a middle and a last page, then both match", async () => {
    const { user } = await seeded();
    await created(user, "/v1/lists", { name: "Second" });

    const first = check(
      await api.request.get("/v1/lists?limit=1").set(user.auth),
      op("get", "/v1/lists"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(
      await api.request.get("/v1/lists").query({ limit: 100, cursor }).set(user.auth),
      op("get", "/v1/lists"),
      200,
    );
  });

  it("when POST /v1/lists succeeds, first and replayed, then both match", async () => {
    const user = await api.signUp();
    const create = () =>
      api.request
        .post("/v1/lists")
        .set(user.auth)
        .set("Idempotency-Key", "contract-list")
        .send({ name: "Created" });

    check(await create(), op("post", "/v1/lists"), 201);
    check(await create(), op("post", "/v1/lists"), 201);
  });

  it("when GET /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(await api.request.get(`/v1/lists/${listId}`).set(user.auth), op("get", "/v1/lists/{id}"), 200);
  });

  it("when PATCH /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(
      await api.request
        .patch(`/v1/lists/${listId}`)
        .set(user.auth)
        .set("If-Match", '"1"')
        .send({ name: "Renamed" }),
      op("patch", "/v1/lists/{id}"),
      200,
    );
  });

  it("when DELETE /v1/lists/{id} succeeds, then it matches", async () => {
    const { user, listId } = await seeded();

    check(
      await api.request.delete(`/v1/lists/${listId}`).set(user.auth),
      op("delete", "/v1/lists/{id}"),
      204,
    );
  });

  it("when GET /v1/tasks succeeds, with filters, search and paging, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(
      await api.request.get("/v1/tasks?limit=1&status=all").set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(
      await api.request.get("/v1/tasks").query({ limit: 1, status: "all", cursor }).set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    check(
      await api.request
        .get("/v1/tasks")
        .query({ q: "rich", tag: "contract", priority: "high,urgent" })
        .set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
    check(
      await api.request
        .get("/v1/tasks")
        .query({ sort: "-priority,title", dueBefore: "2027-01-01" })
        .set(user.auth),
      op("get", "/v1/tasks"),
      200,
    );
  });

  it("when POST /v1/tasks succeeds, bare and with every field, then both match", async () => {
    const { user, listId, richTaskId } = await seeded();

    check(
      await api.request.post("/v1/tasks").set(user.auth).send({ title: "Posted" }),
      op("post", "/v1/tasks"),
      201,
    );
    const full = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .set("Idempotency-Key", "contract-task")
      .send({
        title: "Posted in full",
        description: "d",
        priority: "urgent",
        tags: ["a"],
        listId,
        parentId: richTaskId,
        dueAt: "2026-12-24T18:00:00-05:00",
        remindAt: "2026-12-24T12:00:00Z",
      });
    check(full, op("post", "/v1/tasks"), 201);
  });

  it("when GET /v1/tasks/{id} succeeds, and again with If-None-Match, then 200 and 304 match", async () => {
    const { user, richTaskId } = await seeded();

    const res = check(
      await api.request.get(`/v1/tasks/${richTaskId}`).set(user.auth),
      op("get", "/v1/tasks/{id}"),
      200,
    );
    check(
      await api.request
        .get(`/v1/tasks/${richTaskId}`)
        .set(user.auth)
        .set("If-None-Match", String(res.headers.etag)),
      op("get", "/v1/tasks/{id}"),
      304,
    );
  });

  it("when PATCH /v1/tasks/{id} succeeds, as JSON and as merge patch, then both match", async () => {
    const user = await api.signUp();
    const id = await created(user, "/v1/tasks", { title: "Patch me" });

    check(
      await api.request
        .patch(`/v1/tasks/${id}`)
        .set(user.auth)
        .send({ priority: "low", dueAt: "2026-12-02" }),
      op("patch", "/v1/tasks/{id}"),
      200,
    );
    const merge = await api.request
      .patch(`/v1/tasks/${id}`)
      .set(user.auth)
      .set("Content-Type", "application/merge-patch+json")
      .send(JSON.stringify({ dueAt: null, tags: ["merged"] }));
    check(merge, op("patch", "/v1/tasks/{id}"), 200);
  });

  it("when DELETE /v1/tasks/{id} succeeds, then it matches", async () => {
    const { user, richTaskId } = await seeded();

    check(
      await api.request.delete(`/v1/tasks/${richTaskId}`).set(user.auth),
      op("delete", "/v1/tasks/{id}"),
      204,
    );
  });

  it("when a recurring task is completed and another reopened, then complete and reopen match", async () => {
    const { user, richTaskId } = await seeded();
    const id = await created(user, "/v1/tasks", { title: "Reopen me" });
    await api.request.post(`/v1/tasks/${id}/complete`).set(user.auth).expect(200);

    check(
      await api.request.post(`/v1/tasks/${richTaskId}/complete`).set(user.auth),
      op("post", "/v1/tasks/{id}/complete"),
      200,
    );
    check(
      await api.request.post(`/v1/tasks/${id}/reopen`).set(user.auth).set("If-Match", '"2"'),
      op("post", "/v1/tasks/{id}/reopen"),
      200,
    );
  });

  it("when GET /v1/tasks/{id}/history succeeds, for a task with history and for a new one, then both match", async () => {
    const { user, richTaskId } = await seeded();
    recordedHistory.set(richTaskId, {
      data: [
        {
          eventId: crypto.randomUUID(),
          type: "dev.taskmesh.task.created.v1",
          sequence: 1,
          occurredAt: "2026-11-26T09:00:00.000Z",
          actor: { kind: "user", id: user.id },
          changes: {},
        },
        {
          eventId: crypto.randomUUID(),
          type: "dev.taskmesh.task.updated.v1",
          sequence: 2,
          occurredAt: "2026-11-26T09:05:00.000Z",
          actor: { kind: "service", id: "mcp-server" },
          changes: { priority: { from: "none", to: "high" } },
        },
      ],
      nextCursor: "eyJzIjoyfQ",
    });
    const bare = await created(user, "/v1/tasks", { title: "No history yet" });

    check(
      await api.request.get(`/v1/tasks/${richTaskId}/history?limit=2`).set(user.auth),
      op("get", "/v1/tasks/{id}/history"),
      200,
    );
    check(
      await api.request.get(`/v1/tasks/${bare}/history`).set(user.auth),
      op("get", "/v1/tasks/{id}/history"),
      200,
    );
  });

  it("when tokens are created, listed (paged), read and revoked, then every response matches", async () => {
    const user = await api.signUp();
    const created = check(
      await api.request.post("/v1/tokens").set(user.auth).send({ name: "Contract", scope: "read-write" }),
      op("post", "/v1/tokens"),
      201,
    );
    const id = (created.body as { id: string; token: string }).id;
    const secret = (created.body as { token: string }).token;
    await api.request.get("/v1/me").set("Authorization", `Bearer ${secret}`).expect(200);
    check(
      await api.request
        .post("/v1/tokens")
        .set(user.auth)
        .send({ name: "Dated", scope: "read", expiresAt: new Date(Date.now() + 86_400_000).toISOString() }),
      op("post", "/v1/tokens"),
      201,
    );
    const first = check(
      await api.request.get("/v1/tokens?limit=1").set(user.auth),
      op("get", "/v1/tokens"),
      200,
    );
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tokens").query({ cursor }).set(user.auth), op("get", "/v1/tokens"), 200);
    check(await api.request.get(`/v1/tokens/${id}`).set(user.auth), op("get", "/v1/tokens/{id}"), 200);
    check(await api.request.delete(`/v1/tokens/${id}`).set(user.auth), op("delete", "/v1/tokens/{id}"), 204);
  });

  it("when GET /v1/tags succeeds, paged, then every page matches", async () => {
    const { user } = await seeded();

    const first = check(await api.request.get("/v1/tags?limit=1").set(user.auth), op("get", "/v1/tags"), 200);
    const cursor = (first.body as { nextCursor: string }).nextCursor;
    check(await api.request.get("/v1/tags").query({ cursor }).set(user.auth), op("get", "/v1/tags"), 200);
  });
});

describe("error responses match the document", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await api.signUp();
  });

  async function personalAccessToken(scope: "read" | "read-write"): Promise<string> {
    const res = await api.request
      .post("/v1/tokens")
      .set(user.auth)
      .send({ name: "contract", scope })
      .expect(201);
    return (res.body as { token: string }).token;
  }

  async function existing(path: string): Promise<string> {
    const res = path.startsWith("/v1/lists")
      ? await api.request.post("/v1/lists").set(user.auth).send({ name: "Existing" }).expect(201)
      : await api.request.post("/v1/tasks").set(user.auth).send({ title: "Existing" }).expect(201);
    return (res.body as { id: string }).id;
  }

  it.each(OPERATIONS)(
    "when %s %s is called without credentials, then the 401 matches",
    async (...operation) => {
      const res = await call(api, operation);
      check(res, operation, 401);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="taskmesh"');
    },
  );

  it.each(OPERATIONS)(
    "when %s %s is called with a tampered token, then the 401 matches",
    async (...operation) => {
      const forged = `${user.accessToken.slice(0, -4)}AAAA`;
      const res = await call(api, operation).set("Authorization", `Bearer ${forged}`);
      check(res, operation, 401);
    },
  );

  it.each(READ_ONLY_REFUSED)(
    "when %s %s is called with a read-only personal access token, then the 403 matches",
    async (...operation) => {
      const token = await personalAccessToken("read");
      const res = await call(api, operation).set("Authorization", `Bearer ${token}`);
      check(res, operation, 403);
      expect(res.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    },
  );

  it.each(IN_PERSON)(
    "when %s %s is called with a read-write personal access token, then the 403 matches",
    async (...operation) => {
      const token = await personalAccessToken("read-write");
      check(await call(api, operation).set("Authorization", `Bearer ${token}`), operation, 403);
    },
  );

  it.each(WITH_ID)(
    "when %s %s names an id that does not exist, then the 404 matches",
    async (...operation) => {
      check(await call(api, operation, { auth: user }), operation, 404);
    },
  );

  it.each(WITH_IF_MATCH)("when %s %s sends a stale If-Match, then the 412 matches", async (...operation) => {
    const id = await existing(operation[1]);
    check(await call(api, operation, { auth: user, id }).set("If-Match", '"99"'), operation, 412);
  });

  it.each(WITH_BODY)("when %s %s gets malformed JSON, then the 400 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "application/json")
      .send("{oops");
    check(res, operation, 400);
  });

  it.each(WITH_BODY)("when %s %s gets text/plain, then the 415 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "text/plain")
      .send("plain text");
    check(res, operation, 415);
  });

  it.each(WITH_BODY)("when %s %s gets more than 64 KiB, then the 413 matches", async (...operation) => {
    const res = await call(api, operation, { auth: user })
      .set("Content-Type", "application/json")
      .send(JSON.stringify({ pad: "x".repeat(70_000) }));
    check(res, operation, 413);
  });

  it.each(WITH_SCHEMA_BODY)(
    "when %s %s gets an unknown field, then the 422 matches",
    async (...operation) => {
      const res = await call(api, operation, { auth: user, body: { unknownField: true } });
      check(res, operation, 422);
    },
  );

  it.each([
    ["post", "/v1/tasks/{id}/complete"],
    ["post", "/v1/tasks/{id}/reopen"],
  ] as const)(
    "when %s %s reuses an Idempotency-Key of another request, then the 422 matches",
    async (...operation) => {
      const first = await existing("/v1/tasks");
      const second = await existing("/v1/tasks");
      const key = `reuse-${crypto.randomUUID()}`;
      await call(api, operation, { auth: user, id: first }).set("Idempotency-Key", key);

      check(
        await call(api, operation, { auth: user, id: second }).set("Idempotency-Key", key),
        operation,
        422,
      );
    },
  );

  it.each(PAGED)("when %s %s gets an invalid query, then the 400 matches", async (...operation) => {
    check(await call(api, operation, { auth: user }).query({ limit: 0 }), operation, 400);
  });

  it("when GET /v1/tasks/{id}/history gets an invalid query, then the 400 matches", async () => {
    const operation = ["get", "/v1/tasks/{id}/history"] as const;
    const id = await existing("/v1/tasks");
    check(await call(api, operation, { auth: user, id }).query({ limit: 101 }), operation, 400);
  });

  it("when GET /v1/tasks/{id}/history finds no sidecar to reach audit-log through, then the 503 matches", async () => {
    const operation = ["get", "/v1/tasks/{id}/history"] as const;
    // A sidecar address where nothing listens.
    const cut = await startTaskApi({
      taskHistory: auditLogTaskHistory(createSidecarClient({ baseUrl: "http://127.0.0.1:9" })),
    });
    try {
      const owner = await cut.signUp();
      const res = await call(cut, operation, { auth: owner });
      check(res, operation, 503);
      expect(res.headers["retry-after"]).toBeDefined();
    } finally {
      await cut.close();
    }
  });
});

describe("rate-limited responses match the document", () => {
  let limited: TestTaskApi;
  let user: TestUser;
  beforeAll(async () => {
    limited = await startTaskApi({ rateLimit: { ipPerMinute: 0, userPerMinute: 1 } });
    user = await limited.signUp();
    await limited.request.get("/v1/me").set(user.auth).expect(200);
  });
  afterAll(async () => {
    await limited.close();
  });

  it.each(OPERATIONS)("when %s %s is over the limit, then the 429 matches", async (...operation) => {
    const res = await call(limited, operation, { auth: user });
    check(res, operation, 429);
    expect(res.headers["retry-after"]).toBeDefined();
  });
});

describe("database failures match the document", () => {
  let failure: () => Error = () => new Error("unset");
  let broken: TestTaskApi;
  let user: TestUser;
  beforeAll(async () => {
    const fail = () => Promise.reject(failure());
    const prisma = new Proxy(
      {},
      {
        get: () => {
          throw failure();
        },
      },
    ) as PrismaClient;
    const db: Database = { prisma, read: { query: fail }, transaction: fail };
    broken = await startTaskApi({ db, taskHistory: history });
    user = await broken.signUp();
  });
  afterAll(async () => {
    await broken.close();
  });

  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each(OPERATIONS)(
    "when %s %s meets an unexpected database error, then the 500 matches",
    async (...operation) => {
      failure = () => pgError("42P01", 'relation "tasks" does not exist');
      check(await call(broken, operation, { auth: user }), operation, 500);
    },
  );

  it.each(OPERATIONS)(
    "when %s %s finds the database shutting down, then the 503 matches",
    async (...operation) => {
      failure = () => pgError("57P01", "terminating connection due to administrator command");
      const res = await call(broken, operation, { auth: user });
      check(res, operation, 503);
      expect(res.headers["retry-after"]).toBeDefined();
    },
  );

  it.each(WRITES)("when %s %s loses a serialization race, then the 409 matches", async (...operation) => {
    failure = () => pgError("40001", "could not serialize access due to concurrent update");
    check(await call(broken, operation, { auth: user }), operation, 409);
  });
});

describe("coverage", () => {
  it("when all of the above has run, then every documented status of every operation was seen and checked", () => {
    const missing = contract.operations.flatMap(({ method, path, operation }) =>
      Object.keys(operation.responses)
        .map((status) => `${method.toUpperCase()} ${path} ${status}`)
        .filter((key) => !contract.validated.has(key)),
    );
    expect(missing).toEqual([]);
  });
});
