/**
 * docs/deploy.md against what it documents: every object and Secret it names exists in the
 * rendered overlays, its Secrets table lists every Secret the overlays reference with the right
 * keys, its image, topic and Deployment lists are the manifests' own, its figures (replicas,
 * control-plane ports) are the manifests', and the smoke script's default MCP and stream URLs
 * are where the Ingress routes them. Each check is also shown to catch a broken copy.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { renderOverlay } from "../../scripts/k8s/validate.ts";
import { defaultUrls } from "../../scripts/smoke.ts";

const root = path.resolve(import.meta.dirname, "../..");
const DOC = readFileSync(path.join(root, "docs/deploy.md"), "utf8");

interface K8sObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface IngressPath {
  path: string;
  pathType: string;
  backend: { service: { name: string } };
}

interface Facts {
  /** metadata.name of every rendered object (generated ConfigMaps also without their hash suffix). */
  objectNames: Set<string>;
  /** Secret name -> keys, from the secrets-init specs and every secretKeyRef / token annotation / TLS secret. */
  secrets: Map<string, Set<string>>;
  /** Secrets the overlays' objects reference (not the ones the Job merely could create). */
  referencedSecrets: Set<string>;
  images: Set<string>;
  topics: Set<string>;
  deployments: Set<string>;
  /** Host -> its paths over every Ingress. */
  routes: Map<string, IngressPath[]>;
  hpa: Map<string, { min: number; max: number }>;
  /** Egress ports to namespace dapr-system in NetworkPolicy dapr-sidecars. */
  controlPlanePorts: Set<number>;
}

function addKey(map: Map<string, Set<string>>, secret: string, key: string): void {
  const keys = map.get(secret) ?? new Set<string>();
  keys.add(key);
  map.set(secret, keys);
}

/** Walks any object and calls `visit` on every nested object. */
function walk(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) for (const item of value) walk(item, visit);
  else if (value !== null && typeof value === "object") {
    visit(value as Record<string, unknown>);
    for (const child of Object.values(value)) walk(child, visit);
  }
}

function factsOf(overlays: K8sObject[][]): Facts {
  const facts: Facts = {
    objectNames: new Set(),
    secrets: new Map(),
    referencedSecrets: new Set(),
    images: new Set(),
    topics: new Set(),
    deployments: new Set(),
    routes: new Map(),
    hpa: new Map(),
    controlPlanePorts: new Set(),
  };
  for (const objects of overlays) {
    for (const o of objects) {
      facts.objectNames.add(o.metadata.name);
      facts.objectNames.add(o.metadata.name.replace(/-[a-z0-9]{10}$/, ""));
      if (o.kind === "Deployment") facts.deployments.add(o.metadata.name);
      if (o.kind === "ConfigMap" && o.metadata.name === "taskmesh-secrets-spec") {
        for (const text of Object.values(o.data ?? {})) {
          const spec = JSON.parse(text) as { secrets?: Record<string, Record<string, unknown>> };
          for (const [secret, keys] of Object.entries(spec.secrets ?? {}))
            for (const key of Object.keys(keys)) addKey(facts.secrets, secret, key);
        }
      }
      walk(o, (node) => {
        const ref = node.secretKeyRef as { name?: string; key?: string } | undefined;
        if (ref?.name && ref.key) {
          addKey(facts.secrets, ref.name, ref.key);
          facts.referencedSecrets.add(ref.name);
        }
        if (typeof node.image === "string") facts.images.add(node.image.replace(/:[^/:]+$/, ""));
      });
      for (const [annotation, secret] of Object.entries(o.metadata.annotations ?? {}))
        if (/^dapr\.io\/(app|api)-token-secret$/.test(annotation)) {
          addKey(facts.secrets, secret, "token");
          facts.referencedSecrets.add(secret);
        }
      walk(o.spec, (node) => {
        const annotations = (node.metadata as K8sObject["metadata"] | undefined)?.annotations ?? {};
        for (const [annotation, secret] of Object.entries(annotations))
          if (/^dapr\.io\/(app|api)-token-secret$/.test(annotation)) {
            addKey(facts.secrets, secret, "token");
            facts.referencedSecrets.add(secret);
          }
      });
      if (o.kind === "Ingress") {
        const spec = o.spec as {
          rules: { host: string; http: { paths: IngressPath[] } }[];
          tls?: { secretName: string }[];
        };
        for (const tls of spec.tls ?? []) {
          addKey(facts.secrets, tls.secretName, "tls.crt");
          addKey(facts.secrets, tls.secretName, "tls.key");
          facts.referencedSecrets.add(tls.secretName);
        }
        for (const rule of spec.rules)
          facts.routes.set(rule.host, [...(facts.routes.get(rule.host) ?? []), ...rule.http.paths]);
      }
      if (o.kind === "Component" && o.metadata.name === "taskmesh-pubsub") {
        const metadata = (o.spec as { metadata: { name: string; value?: string }[] }).metadata;
        const allowed = metadata.find((m) => m.name === "allowedTopics")?.value ?? "";
        for (const topic of allowed.split(",")) if (topic.trim()) facts.topics.add(topic.trim());
      }
      if (o.kind === "HorizontalPodAutoscaler") {
        const spec = o.spec as { minReplicas: number; maxReplicas: number };
        facts.hpa.set(o.metadata.name, { min: spec.minReplicas, max: spec.maxReplicas });
      }
      if (o.kind === "NetworkPolicy" && o.metadata.name === "dapr-sidecars") {
        const egress = (o.spec as { egress?: { to?: unknown[]; ports?: { port: number }[] }[] }).egress ?? [];
        for (const rule of egress)
          if (JSON.stringify(rule.to).includes('"dapr-system"'))
            for (const port of rule.ports ?? []) facts.controlPlanePorts.add(port.port);
      }
    }
  }
  return facts;
}

const APPS = ["task-api", "mcp-server", "notifications", "audit-log", "recurring-tasks"];

/** The rows of the doc's Secrets table: secret names (placeholders expanded) and the keys it gives them. */
function secretsTable(doc: string): { secret: string; keys: string[] }[] {
  const section = doc.slice(doc.indexOf("## 4. Secrets"), doc.indexOf("## 5. Apply"));
  const rows: { secret: string; keys: string[] }[] = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const [, names, keyCell] = cells;
    if (cells.length < 4 || names === undefined || keyCell === undefined || !names.startsWith("`")) continue;
    const codes = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? "");
    const keys = codes(keyCell);
    for (const name of codes(names))
      for (const secret of name.includes("<app>") ? APPS.map((a) => name.replace("<app>", a)) : [name])
        rows.push({ secret, keys });
  }
  return rows;
}

/** The words of the first `for <variable> in ...; do` loop over `variable` in the doc. */
function loopWords(doc: string, variable: string): string[][] {
  return [...doc.matchAll(new RegExp(`for ${variable} in ([^;]+); do`, "g"))].map((m) =>
    (m[1] ?? "").trim().split(/\s+/),
  );
}

const sorted = (values: Iterable<string>): string[] => [...values].sort();

/** Every fact docs/deploy.md states that the manifests decide; an empty list when they agree. */
function checkDeployDoc(doc: string, facts: Facts): string[] {
  const errors: string[] = [];

  // Objects and Secrets named anywhere in the doc.
  for (const [name] of doc.matchAll(/(?<![\w-])taskmesh-[a-z0-9<>-]*[a-z0-9>]/g)) {
    const names = name.includes("<app>") ? APPS.map((a) => name.replace("<app>", a)) : [name];
    for (const n of names)
      if (!facts.objectNames.has(n) && !facts.secrets.has(n))
        errors.push(`docs/deploy.md names ${n}, which no overlay renders or references`);
  }
  for (const [, name] of doc.matchAll(/NetworkPolicy\s+`([a-z0-9-]+)`/g))
    if (name && !facts.objectNames.has(name))
      errors.push(`docs/deploy.md names NetworkPolicy ${name}, which no overlay has`);

  // The Secrets table: right keys, and every referenced Secret listed.
  const table = secretsTable(doc);
  if (table.length === 0) errors.push("docs/deploy.md has no Secrets table under '## 4. Secrets'");
  for (const row of table) {
    const known = facts.secrets.get(row.secret);
    if (!known) {
      errors.push(`Secrets table: ${row.secret} is not a Secret the overlays use`);
      continue;
    }
    for (const key of row.keys)
      if (!known.has(key))
        errors.push(`Secrets table: ${row.secret} has no key ${key} (keys: ${sorted(known).join(", ")})`);
    for (const key of known)
      if (!row.keys.includes(key)) errors.push(`Secrets table: ${row.secret} does not list its key ${key}`);
  }
  for (const secret of facts.referencedSecrets)
    if (!table.some((r) => r.secret === secret))
      errors.push(`Secrets table: ${secret} (referenced by the manifests) is missing`);

  // Image targets in the build loops = the images the manifests run (ours, not PostgreSQL/Redpanda).
  const ours = sorted([...facts.images].filter((i) => i.startsWith("taskmesh/")).map((i) => i.slice(9)));
  const loops = loopWords(doc, "target");
  if (loops.length === 0) errors.push("docs/deploy.md has no image build loop (for target in ...)");
  for (const words of loops)
    if (sorted(words).join(",") !== ours.join(","))
      errors.push(`image loop lists ${sorted(words).join(", ")}; the manifests run ${ours.join(", ")}`);

  // Deployments waited for after an upgrade = the manifests' Deployments.
  for (const words of loopWords(doc, "d"))
    if (sorted(words).join(",") !== sorted(facts.deployments).join(","))
      errors.push(
        `rollout loop lists ${sorted(words).join(", ")}; the Deployments are ${sorted(facts.deployments).join(", ")}`,
      );

  // Topics: the doc's list and the rpk command = the component's allowedTopics.
  for (const [, list] of doc.matchAll(/rpk topic create ([a-z. -]+?) -p/gi)) {
    const words = sorted((list ?? "").split(/\s+/));
    if (words.join(",") !== sorted(facts.topics).join(","))
      errors.push(
        `rpk topic create lists ${words.join(", ")}; allowedTopics are ${sorted(facts.topics).join(", ")}`,
      );
  }
  for (const topic of facts.topics)
    if (!doc.includes(`\`${topic}\``)) errors.push(`docs/deploy.md does not name the topic ${topic}`);

  // The Ingress paths the doc lists for task-api = the ones the Ingresses route to it.
  const listed = /task-api's public paths \(([^)]*)\)/.exec(doc.replace(/\s+/g, " "));
  const routed = new Set(
    [...facts.routes.values()]
      .flat()
      .filter((p) => p.backend.service.name === "task-api")
      .map((p) => p.path),
  );
  if (!listed) errors.push("docs/deploy.md does not list task-api's public paths");
  else {
    const paths = sorted([...(listed[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? ""));
    if (paths.join(",") !== sorted(routed).join(","))
      errors.push(
        `docs/deploy.md lists task-api's public paths ${paths.join(", ")}; the Ingresses route ${sorted(routed).join(", ")}`,
      );
  }

  // Figures.
  const replicas = /task-api (\d+)-(\d+), mcp-server (\d+)-(\d+) by HPA/.exec(doc);
  const hpa = (name: string) => facts.hpa.get(name);
  if (!replicas) errors.push("docs/deploy.md does not give the production autoscaling ranges");
  else if (
    Number(replicas[1]) !== hpa("task-api")?.min ||
    Number(replicas[2]) !== hpa("task-api")?.max ||
    Number(replicas[3]) !== hpa("mcp-server")?.min ||
    Number(replicas[4]) !== hpa("mcp-server")?.max
  )
    errors.push(
      `docs/deploy.md says task-api ${replicas[1]}-${replicas[2]}, mcp-server ${replicas[3]}-${replicas[4]}; the HPAs say task-api ${hpa("task-api")?.min}-${hpa("task-api")?.max}, mcp-server ${hpa("mcp-server")?.min}-${hpa("mcp-server")?.max}`,
    );
  for (const [, port, what] of doc.matchAll(/(\d+) \((Sentry|operator)\)/g))
    if (!facts.controlPlanePorts.has(Number(port)))
      errors.push(
        `docs/deploy.md says ${what} is on port ${port}; NetworkPolicy dapr-sidecars does not allow it`,
      );
  return [...new Set(errors)];
}

/** The paths `npm run smoke` calls on the base URL (task-api), besides its MCP and stream URLs. */
const SMOKE_TASK_API_PATHS = [
  "/.well-known/oauth-authorization-server",
  "/oauth/login",
  "/api/auth/sign-up/email",
  "/api/auth/sign-in/email",
  "/api/auth/get-session",
  "/api/auth/token",
  "/v1/tasks",
  "/v1/tasks/0190a8d6-0000-7000-8000-000000000000/complete",
  "/v1/tasks/0190a8d6-0000-7000-8000-000000000000/history",
  "/v1/tokens/0190a8d6-0000-7000-8000-000000000000",
  "/v1/me",
];

/** Which service ingress-nginx sends `pathname` to: Exact paths, else the longest matching Prefix. */
function routeOf(paths: readonly IngressPath[], pathname: string): string | undefined {
  const exact = paths.find((p) => p.pathType === "Exact" && p.path === pathname);
  if (exact) return exact.backend.service.name;
  const prefix = paths
    .filter((p) => p.pathType === "Prefix")
    .filter(
      (p) => p.path === "/" || pathname === p.path || pathname.startsWith(`${p.path.replace(/\/$/, "")}/`),
    )
    .sort((a, b) => b.path.length - a.path.length)[0];
  return prefix?.backend.service.name;
}

/** The smoke script's URLs, derived from each Ingress host as `npm run smoke -- https://<host>` does, against the routes. */
function checkSmokeRoutes(facts: Facts): string[] {
  const errors: string[] = [];
  if (facts.routes.size === 0) return ["no Ingress rules"];
  for (const [host, paths] of facts.routes) {
    const { mcpUrl, streamUrl } = defaultUrls(new URL(`https://${host}`));
    const expected: [string, string][] = [
      [mcpUrl.pathname, "mcp-server"],
      [`/.well-known/oauth-protected-resource${mcpUrl.pathname}`, "mcp-server"],
      [streamUrl.pathname, "notifications"],
      ...SMOKE_TASK_API_PATHS.map((p): [string, string] => [p, "task-api"]),
    ];
    for (const [pathname, service] of expected) {
      const target = routeOf(paths, pathname);
      if (target !== service)
        errors.push(
          `${host}: the smoke test calls ${pathname}, which the Ingress sends to ${target ?? "nothing (404)"}, not ${service}`,
        );
    }
  }
  return errors;
}

describe("docs/deploy.md and the smoke script agree with the manifests", () => {
  let facts: Facts;
  let overlays: K8sObject[][];

  beforeAll(async () => {
    overlays = (await Promise.all([renderOverlay("local"), renderOverlay("production")])) as K8sObject[][];
    facts = factsOf(overlays);
  }, 600_000);

  it("when the doc is read against both overlays, then every name, Secret key, list and figure matches", () => {
    expect(checkDeployDoc(DOC, facts)).toEqual([]);
  });

  it("when the smoke script derives its URLs from an Ingress host, then the Ingress routes each to the service that serves it", () => {
    expect(checkSmokeRoutes(facts)).toEqual([]);
  });

  it("when the doc names a Secret, key, topic or image the manifests do not have, then each is reported", () => {
    const broken = DOC.replace("taskmesh-dapr-state`", "taskmesh-state`")
      .replace("`STATE_DB_URL`", "`STATE_URL`")
      .replace(
        "$RPK topic create task-events task-events.dead-letter",
        "$RPK topic create task-events task-events.dlq",
      )
      .replaceAll("for target in task-api audit-log", "for target in task-api audit-log worker");
    const errors = checkDeployDoc(broken, facts);
    expect(errors).toContain("docs/deploy.md names taskmesh-state, which no overlay renders or references");
    expect(errors).toContain("Secrets table: taskmesh-dapr-state (referenced by the manifests) is missing");
    expect(errors).toContainEqual(
      expect.stringContaining(
        "rpk topic create lists reminders, reminders.dead-letter, task-events, task-events.dlq",
      ),
    );
    expect(errors).toContainEqual(
      expect.stringContaining(
        "image loop lists audit-log, mcp-server, migrate, notifications, recurring-tasks, task-api, worker",
      ),
    );
  });

  it("when the manifests change under the doc, then the doc's stale facts are reported", () => {
    const changed = overlays.map((objects) =>
      structuredClone(objects).map((o) => {
        if (o.kind === "HorizontalPodAutoscaler" && o.metadata.name === "task-api")
          (o.spec as { maxReplicas: number }).maxReplicas = 20;
        if (o.kind === "Job" && o.metadata.name === "taskmesh-topics") o.metadata.name = "redpanda-topics";
        if (o.kind === "Ingress")
          for (const rule of (o.spec as { rules: { http: { paths: IngressPath[] } }[] }).rules)
            rule.http.paths.push({
              path: "/status",
              pathType: "Prefix",
              backend: { service: { name: "task-api" } },
            });
        return o;
      }),
    );
    const errors = checkDeployDoc(DOC, factsOf(changed));
    expect(errors).toContainEqual(expect.stringMatching(/the HPAs say task-api \d+-20/));
    expect(errors).toContain("docs/deploy.md names taskmesh-topics, which no overlay renders or references");
    expect(errors).toContainEqual(expect.stringMatching(/the Ingresses route .*\/status/));
  });

  it("when the Ingress sends /mcp or the stream elsewhere, then the smoke defaults are reported as wrong", () => {
    const changed = overlays.map((objects) =>
      structuredClone(objects).map((o) => {
        if (o.kind === "Ingress")
          for (const rule of (o.spec as { rules: { http: { paths: IngressPath[] } }[] }).rules)
            for (const p of rule.http.paths)
              if (p.path === "/mcp") p.path = "/agents/mcp";
              else if (p.path === "/v1/stream") p.backend.service.name = "task-api";
        return o;
      }),
    );
    const errors = checkSmokeRoutes(factsOf(changed));
    expect(errors).toContainEqual(
      expect.stringContaining(
        "the smoke test calls /mcp, which the Ingress sends to nothing (404), not mcp-server",
      ),
    );
    expect(errors).toContainEqual(
      expect.stringContaining(
        "the smoke test calls /v1/stream, which the Ingress sends to task-api, not notifications",
      ),
    );
  });
});
