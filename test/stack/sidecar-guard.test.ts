/**
 * Every route meant only for a service's own sidecar (subscriptions, cron ticks, internal
 * invocation targets) refuses a request that lacks daprd's APP_API_TOKEN: the running
 * services, started as in production (node dist/main.js, with their sidecars), answer 401
 * problem+json with a WWW-Authenticate challenge. Services that do not exist yet are skipped.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { useStack, type AppName } from "../support/stack.ts";

const root = path.resolve(import.meta.dirname, "../..");
const ALL_APPS: AppName[] = ["task-api", "mcp-server", "notifications", "audit-log", "recurring-tasks"];
const present = ALL_APPS.filter((app) => existsSync(path.join(root, "services", app, "src/main.ts")));

interface SidecarRoute {
  app: AppName;
  method: "GET" | "POST";
  path: string;
  why: string;
}

interface Resource {
  kind?: string;
  metadata?: { name?: string };
  spec?: {
    routes?: { default?: string };
    topic?: string;
    type?: string;
    metadata?: { name: string; value?: string }[];
  };
  scopes?: string[];
}

function resources(file: string): Resource[] {
  return parseAllDocuments(readFileSync(path.join(root, "dapr-components", file), "utf8")).map(
    (d) => d.toJS() as Resource,
  );
}

/** What daprd calls on each app, read from dapr-components/, plus the agreed internal routes. */
function sidecarRoutes(): SidecarRoute[] {
  const routes: SidecarRoute[] = [];
  for (const sub of resources("subscriptions.yaml")) {
    const route = sub.spec?.routes?.default;
    if (sub.kind !== "Subscription" || !route) continue;
    for (const app of sub.scopes ?? [])
      routes.push({
        app: app as AppName,
        method: "POST",
        path: route,
        why: `subscription ${sub.metadata?.name}`,
      });
  }
  for (const binding of resources("cron.yaml")) {
    const route = binding.spec?.metadata?.find((m) => m.name === "route")?.value;
    if (binding.spec?.type !== "bindings.cron" || !route) continue;
    for (const app of binding.scopes ?? [])
      routes.push({
        app: app as AppName,
        method: "POST",
        path: route,
        why: `cron binding ${binding.metadata?.name}`,
      });
  }
  // Service-invocation targets (the cross-service contracts).
  routes.push({
    app: "audit-log",
    method: "GET",
    path: "/internal/tasks/00000000-0000-4000-8000-000000000000/history?userId=someone",
    why: "invoked by task-api",
  });
  return routes.filter((r) => present.includes(r.app));
}

const routes = sidecarRoutes();
const label = (r: SidecarRoute): string =>
  `${r.app} ${r.method} ${r.path.split("?")[0] ?? r.path} (${r.why})`;

describe.skipIf(routes.length === 0)("sidecar-only routes", () => {
  const stack = useStack({ apps: present, waitForConsumers: false });

  const send = (r: SidecarRoute, headers: Record<string, string>): Promise<Response> => {
    const url = `${stack().urls[r.app] ?? ""}${r.path}`;
    return fetch(url, {
      method: r.method,
      headers: {
        ...headers,
        ...(r.method === "POST" ? { "content-type": "application/cloudevents+json" } : {}),
      },
      ...(r.method === "POST"
        ? { body: JSON.stringify({ specversion: "1.0", id: "x", source: "/x", type: "x" }) }
        : {}),
    });
  };

  const expectRefused = async (res: Response): Promise<void> => {
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.headers.get("www-authenticate")).toBeTruthy();
    const body = (await res.json()) as { status?: number; title?: string };
    expect(body.status).toBe(401);
  };

  it.each(routes.map((r) => [label(r), r] as const))(
    "when %s is called without dapr-api-token, then 401 problem+json with a challenge",
    async (_label, r) => {
      await expectRefused(await send(r, {}));
    },
  );

  it.each(routes.map((r) => [label(r), r] as const))(
    "when %s is called with a wrong dapr-api-token, then 401 problem+json with a challenge",
    async (_label, r) => {
      await expectRefused(await send(r, { "dapr-api-token": `${stack().appApiToken}x` }));
      // The sidecar's own token (DAPR_API_TOKEN) is not the app token either.
      await expectRefused(await send(r, { "dapr-api-token": stack().daprApiToken }));
    },
  );

  it.each(routes.map((r) => [label(r), r] as const))(
    "when %s is called with the app token, then the guard lets it through",
    async (_label, r) => {
      const res = await send(r, { "dapr-api-token": stack().appApiToken });
      expect(res.status).not.toBe(401);
    },
  );
});
