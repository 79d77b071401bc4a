import type { Express } from "express";
import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { TEST_PUBLIC_URL, type TestTaskApi } from "../support/task-api.ts";
import { DOCUMENT, type Linked, linksOf, useContractApi } from "../support/task-api-openapi.ts";

const { api, contract } = useContractApi();

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
    const res = await api.as(user).get("/v1/me").expect(200);

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
    const res = await api.as(user).get("/v1/me").expect(200);
    const text = JSON.stringify({ ...(res.body as object), timeZone: 5 });
    const broken = { status: 200, text, headers: res.headers, request: res.request } as unknown as Response;

    expect(() => contract.validate(broken, "get", "/v1/me")).toThrow(/timeZone/);
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
