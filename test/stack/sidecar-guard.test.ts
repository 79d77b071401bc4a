/**
 * Every route meant only for a service's own sidecar (subscriptions, cron ticks, internal
 * invocation targets) exists only on the service's sidecar listener (the Dapr app port,
 * 127.0.0.1), and there refuses a request that lacks daprd's APP_API_TOKEN: the running
 * services, started as in production (node dist/main.js, with their sidecars), answer 401
 * problem+json with a WWW-Authenticate challenge there, and 404 like an unknown route on the
 * public listener, whatever token comes with the request. /metrics is on the operations
 * listener only. Through the real sidecars, deliveries and service invocation still work, and
 * a user's read-only scope travels with mcp-server's calls to task-api. Services that do not
 * exist yet are skipped.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { waitUntil } from "../../scripts/stack/index.ts";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
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

// One stack for the whole file; each app and its sidecar have their own pair of tokens, as in k8s.
const stack = useStack({ apps: present, waitForConsumers: false, tokens: "per-app" });
const appToken = (app: AppName): string => stack().appApiTokens[app] ?? "";

describe.skipIf(routes.length === 0)("sidecar-only routes", () => {
  /** To the sidecar listener (as daprd calls it), or the public one. */
  const send = (
    r: SidecarRoute,
    headers: Record<string, string>,
    listener: "sidecar" | "public" = "sidecar",
  ): Promise<Response> => {
    const base = listener === "sidecar" ? stack().sidecarUrls[r.app] : stack().urls[r.app];
    const url = `${base ?? ""}${r.path}`;
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
      await expectRefused(await send(r, { "dapr-api-token": `${appToken(r.app)}x` }));
      // The sidecar's own token (DAPR_API_TOKEN) is not the app token either.
      await expectRefused(await send(r, { "dapr-api-token": stack().daprApiTokens[r.app] ?? "" }));
    },
  );

  it.each(routes.map((r) => [label(r), r] as const))(
    "when %s is called with the app token, then the guard lets it through",
    async (_label, r) => {
      const res = await send(r, { "dapr-api-token": appToken(r.app) });
      expect(res.status).not.toBe(401);
      // Served here (a 404 would be the route's own answer, never "No route matches").
      if (res.status === 404)
        expect(((await res.json()) as { detail?: string }).detail).not.toMatch(/^No route matches/);
    },
  );

  it.each(routes.map((r) => [label(r), r] as const))(
    "when %s is called on the public listener, even with the app token, then 404 like an unknown route",
    async (_label, r) => {
      const res = await send(r, { "dapr-api-token": appToken(r.app) }, "public");
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { detail?: string }).detail).toMatch(/^No route matches/);
    },
  );

  it.each(present.map((app) => [app] as const))(
    "when %s is asked for /metrics and /dapr/subscribe, then only the operations listener serves /metrics and only the sidecar listener /dapr/subscribe",
    async (app) => {
      const s = stack();
      const token = { "dapr-api-token": appToken(app) };
      expect((await fetch(`${s.urls[app] ?? ""}/metrics`)).status).toBe(404);
      expect((await fetch(`${s.sidecarUrls[app] ?? ""}/metrics`, { headers: token })).status).toBe(404);
      const metrics = await fetch(`${s.opsUrls[app] ?? ""}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("http_request_duration_seconds");
      expect((await fetch(`${s.urls[app] ?? ""}/dapr/subscribe`, { headers: token })).status).toBe(404);
      // Subscribers answer daprd's /dapr/subscribe (declarative subscriptions: []); the others have none.
      const subscribes = routes.some((r) => r.app === app && r.why.startsWith("subscription"));
      expect((await fetch(`${s.sidecarUrls[app] ?? ""}/dapr/subscribe`, { headers: token })).status).toBe(
        subscribes ? 200 : 404,
      );
      expect((await fetch(`${s.opsUrls[app] ?? ""}/readyz`)).status).toBe(200);
    },
  );
});

describe.skipIf(!present.includes("task-api") || !present.includes("mcp-server"))(
  "trusted callers only through the real sidecars",
  () => {
    /** mcp-server's service invocation of task-api, exactly as its task-api client sends it. */
    const invokeAsMcpServer = (
      method: string,
      route: string,
      headers: Record<string, string>,
      body?: unknown,
    ): Promise<Response> => {
      const s = stack();
      return fetch(`${s.daprUrls["mcp-server"] ?? ""}/v1.0/invoke/task-api/method/${route}`, {
        method,
        headers: {
          "dapr-api-token": s.daprApiTokens["mcp-server"] ?? "",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    };

    it("when task-api's app token and trusted-caller headers are sent to its public port, then the request is unauthenticated (401)", async () => {
      const s = stack();
      const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
      const res = await fetch(`${s.urls["task-api"] ?? ""}/v1/me`, {
        headers: {
          "dapr-api-token": s.appApiTokens["task-api"] ?? "",
          "dapr-caller-app-id": "mcp-server",
          "x-taskmesh-user-id": user.id,
        },
      });
      expect(res.status, await res.clone().text()).toBe(401);
    });

    it("when mcp-server invokes task-api through the sidecars for a user, then it acts for that user, the task's events reach audit-log through its sidecar, and a read-only scope is refused by task-api with 403 insufficient_scope", async () => {
      const s = stack();
      const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
      const me = await invokeAsMcpServer("GET", "v1/me", {
        "x-taskmesh-user-id": user.id,
        "x-taskmesh-scope": "read",
      });
      expect(me.status, await me.clone().text()).toBe(200);
      expect(((await me.json()) as { id: string }).id).toBe(user.id);

      const refused = await invokeAsMcpServer(
        "POST",
        "v1/tasks",
        { "x-taskmesh-user-id": user.id, "x-taskmesh-scope": "read" },
        { title: "written with a read-only token" },
      );
      expect(refused.status, await refused.clone().text()).toBe(403);
      expect(refused.headers.get("www-authenticate")).toMatch(/insufficient_scope/);

      const created = await invokeAsMcpServer(
        "POST",
        "v1/tasks",
        { "x-taskmesh-user-id": user.id, "x-taskmesh-scope": "read-write" },
        { title: "written through the sidecars" },
      );
      expect(created.status, await created.clone().text()).toBe(201);
      const task = (await created.json()) as { id: string };

      // Only the one task: the refused write left nothing behind.
      const list = (await (
        await fetch(`${s.urls["task-api"] ?? ""}/v1/tasks`, { headers: user.auth })
      ).json()) as { data: { title: string }[] };
      expect(list.data.map((t) => t.title)).toEqual(["written through the sidecars"]);

      if (present.includes("audit-log")) {
        // task-api's outbox -> broker -> audit-log's daprd -> audit-log's sidecar listener;
        // then task-api -> its daprd -> audit-log's sidecar listener (/internal) for the history.
        await waitUntil(
          "the created event in the task's history",
          async () => {
            const res = await fetch(`${s.urls["task-api"] ?? ""}/v1/tasks/${task.id}/history`, {
              headers: user.auth,
            });
            if (!res.ok) throw new Error(`history: ${res.status}`);
            const page = (await res.json()) as { items?: { actor: unknown }[]; data?: { actor: unknown }[] };
            const items = page.items ?? page.data ?? [];
            if (items.length === 0) throw new Error("no entry yet");
            expect(items[0]?.actor).toEqual({ kind: "service", id: "mcp-server" });
            return true;
          },
          { timeoutMs: 90_000, intervalMs: 500 },
        );
      }
    }, 150_000);
  },
);
