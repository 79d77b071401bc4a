/**
 * Cross-checks of the rendered overlays (kustomize build through K1's renderOverlay) against
 * the services, the AsyncAPI document and the Dockerfile: app ids and ports, component scopes,
 * topics, security contexts, Secrets, probes, images, availability, network labels. Every check
 * is also shown to catch a deliberately broken copy, with a message that says what is wrong.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { renderOverlay } from "../../scripts/k8s/validate.ts";
import { SERVICE_NODE_OPTIONS } from "../../scripts/service-runtime.ts";
import {
  checkAvailability,
  checkComponentScopes,
  checkDaprAnnotations,
  checkImages,
  checkIngressClearsHeaders,
  checkNetworkLabels,
  checkPrivatePathsHidden,
  checkProbes,
  checkSecrets,
  checkSecurityContexts,
  checkServiceIngress,
  checkServiceConfig,
  checkStreamIngress,
  checkTopics,
  clone,
  committedSecretValues,
  configLoaders,
  INGRESS_PROXY_HEADERS,
  internalHeaderNames,
  named,
  PRIVATE_PATHS,
  REPO_ROOT,
  SERVICES,
  type Component,
  type K8sObject,
  type Subscription,
  type Workload,
} from "./manifest-checks.ts";

const OVERLAYS = ["local", "production"] as const;
type Overlay = (typeof OVERLAYS)[number];

const asyncApi = JSON.parse(readFileSync(path.join(REPO_ROOT, "docs/asyncapi.json"), "utf8")) as {
  channels: Record<string, { address: string }>;
  operations: Record<string, { "x-dapr-app-id": string }>;
};
const CHANNELS = Object.values(asyncApi.channels).map((c) => c.address);
const ASYNCAPI_APPS = Object.values(asyncApi.operations).map((o) => o["x-dapr-app-id"]);
const TARGETS = [
  ...readFileSync(path.join(REPO_ROOT, "Dockerfile"), "utf8").matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim),
].map((m) => m[1] ?? "");
const VERSION = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }
).version;
const TAGS: Record<Overlay, string> = { local: "dev", production: VERSION };

const rendered = new Map<Overlay, K8sObject[]>();
let loaders: Awaited<ReturnType<typeof configLoaders>>;
const objects = (overlay: Overlay): K8sObject[] => rendered.get(overlay) ?? [];

beforeAll(async () => {
  for (const overlay of OVERLAYS) rendered.set(overlay, (await renderOverlay(overlay)) as K8sObject[]);
  loaders = await configLoaders();
}, 600_000);

const deployment = (overlay: Overlay, name: string): Workload =>
  named<Workload>(objects(overlay), "Deployment", name);
const appContainer = (d: Workload) => d.spec.template.spec.containers.find((c) => c.name === d.metadata.name);

describe.each(OVERLAYS)("k8s/overlays/%s rendered", (overlay) => {
  it("when rendered, then it holds every service, the Dapr resources, the migration Job and the Ingresses", () => {
    const all = objects(overlay);
    for (const service of SERVICES) expect(deployment(overlay, service).metadata.namespace).toBe("taskmesh");
    expect(all.every((o) => o.kind === "Namespace" || o.metadata.namespace === "taskmesh")).toBe(true);
    expect(named(all, "Job", "taskmesh-migrate")).toBeTruthy();
    expect(named(all, "Configuration", "taskmesh")).toBeTruthy();
    expect(all.filter((o) => o.kind === "Subscription").length).toBeGreaterThan(0);
  });

  // Each rule a checker lists the objects breaking (none: []).
  it.each<[string, (all: K8sObject[]) => unknown]>([
    [
      "when a Deployment's app-id, app-port and ports are read, then daprd calls the sidecar listener, the Service exposes only the public one, probes and Prometheus use the operations one",
      (all) => checkServiceConfig(all, loaders, SERVICE_NODE_OPTIONS),
    ],
    [
      "when the Dapr annotations are read, then each pod has its own tokens, health check, config and sidecar limits",
      checkDaprAnnotations,
    ],
    [
      "when components are read, then each is scoped to exactly the apps that use it",
      (all) => checkComponentScopes(all, ASYNCAPI_APPS),
    ],
    [
      "when subscriptions and allowed topics are read, then every topic is an AsyncAPI channel",
      (all) => checkTopics(all, CHANNELS),
    ],
    [
      "when containers are read, then every one runs as non-root with the restricted securityContext",
      checkSecurityContexts,
    ],
    [
      "when Secret references are read, then no value is rendered and each names a key the overlay creates or documents",
      checkSecrets,
    ],
    [
      "when probes are read, then readiness is /readyz and liveness /healthz on the operations port, which the apps serve",
      checkProbes,
    ],
    [
      `when images are read, then they are taskmesh/<Dockerfile target>:${TAGS[overlay]}`,
      (all) => checkImages(all, TARGETS, TAGS[overlay]),
    ],
    [
      "when availability is read, then every service has a PDB and spreads, task-api and mcp-server autoscale",
      checkAvailability,
    ],
    [
      "when network policies are read, then pods carry the labels for what they use and ingress backends exist",
      checkNetworkLabels,
    ],
    [
      "when network policies are read, then only sidecars (50002) and the ingress controller (app port) reach a service",
      checkServiceIngress,
    ],
    [
      "when the Ingresses are read, then none publishes /metrics, health or sidecar-only routes",
      checkPrivatePathsHidden,
    ],
    [
      "when the ingress controller's proxy headers are read, then every dapr-* and x-taskmesh-* header the code uses is cleared",
      (all) => checkIngressClearsHeaders(all, internalHeaderNames()),
    ],
  ])("%s", (_name, check) => {
    expect(check(objects(overlay))).toEqual([]);
  });

  it("when the stream's Ingress is read, then it is unbuffered with a long read timeout", () => {
    const heartbeat = loaders.get("notifications")?.({
      DATABASE_URL: "x",
      APP_API_TOKEN: "x",
      AUTH_ISSUER: "http://localhost",
    }).STREAM_HEARTBEAT_MS;
    expect(checkStreamIngress(objects(overlay), Number(heartbeat))).toEqual([]);
  });
});

describe("overlay differences", () => {
  it("when production is rendered, then the brokers use SASL over TLS with credentials from taskmesh-kafka", () => {
    const pubsub = named<Component>(objects("production"), "Component", "taskmesh-pubsub");
    const meta = Object.fromEntries((pubsub.spec.metadata ?? []).map((m) => [m.name, m]));
    expect(meta.authType?.value).toBe("password");
    expect(meta.saslUsername?.secretKeyRef).toEqual({ name: "taskmesh-kafka", key: "username" });
    expect(meta.saslPassword?.secretKeyRef).toEqual({ name: "taskmesh-kafka", key: "password" });
    expect(["SHA-256", "SHA-512"]).toContain(meta.saslMechanism?.value);
    expect(meta.disableTls).toBeUndefined();
    expect(
      named<Component>(objects("local"), "Component", "taskmesh-pubsub").spec.metadata?.find(
        (m) => m.name === "authType",
      )?.value,
    ).toBe("none");
  });

  it("when production is rendered, then it has more replicas and wider autoscaling than local, and no in-cluster database or broker", () => {
    type Hpa = K8sObject & { spec: { minReplicas: number; maxReplicas: number } };
    for (const name of ["task-api", "mcp-server"]) {
      const local = named<Hpa>(objects("local"), "HorizontalPodAutoscaler", name);
      const prod = named<Hpa>(objects("production"), "HorizontalPodAutoscaler", name);
      expect(prod.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(prod.spec.maxReplicas).toBeGreaterThan(local.spec.maxReplicas);
    }
    for (const name of ["notifications", "audit-log", "recurring-tasks"])
      expect(deployment("production", name).spec.replicas).toBeGreaterThan(
        deployment("local", name).spec.replicas ?? 1,
      );
    expect(objects("production").filter((o) => o.kind === "StatefulSet")).toEqual([]);
    expect(
      objects("local")
        .filter((o) => o.kind === "StatefulSet")
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["postgres", "redpanda"]);
  });

  it("when the local topics Job is read, then it creates exactly the pub/sub's allowed topics", () => {
    const job = named<Workload>(objects("local"), "Job", "taskmesh-topics");
    const topics = job.spec.template.spec.containers[0]?.env
      ?.find((e) => e.name === "TOPICS")
      ?.value?.split(" ");
    const pubsub = named<Component>(objects("local"), "Component", "taskmesh-pubsub");
    const allowed = String(pubsub.spec.metadata?.find((m) => m.name === "allowedTopics")?.value).split(",");
    expect(topics?.sort()).toEqual(allowed.sort());
    const brokers = job.spec.template.spec.containers[0]?.env?.find((e) => e.name === "BROKERS")?.value;
    const spec = named(objects("local"), "ConfigMap", "taskmesh-secrets-spec").data?.["local.json"] ?? "{}";
    expect(
      (JSON.parse(spec) as { secrets: Record<string, Record<string, { value?: string }>> }).secrets[
        "taskmesh-kafka"
      ]?.brokers?.value,
    ).toBe(brokers);
  });

  it("when the public URLs are read, then task-api's issuer is what the others verify, and the Ingress serves that host", () => {
    for (const overlay of OVERLAYS) {
      // Generated with a content hash in its name (a change rolls the Deployments).
      const configs = objects(overlay).filter(
        (o) => o.kind === "ConfigMap" && /^taskmesh-config-[a-z0-9]{10}$/.test(o.metadata.name),
      );
      expect(configs).toHaveLength(1);
      const config = configs[0]?.data ?? {};
      const host = new URL(config.PUBLIC_URL ?? "").host;
      expect(new URL(config.MCP_RESOURCE_URL ?? "").host).toBe(host);
      for (const ingress of objects(overlay).filter((o) => o.kind === "Ingress"))
        expect((ingress.spec as { rules: { host: string }[] }).rules.map((r) => r.host)).toEqual([host]);
      const issuerOf = (name: string, variable: string) =>
        appContainer(deployment(overlay, name))?.env?.find((e) => e.name === variable)?.valueFrom
          ?.configMapKeyRef?.key;
      expect(issuerOf("task-api", "PUBLIC_URL")).toBe("PUBLIC_URL");
      expect(issuerOf("notifications", "AUTH_ISSUER")).toBe("PUBLIC_URL");
      expect(issuerOf("mcp-server", "AUTH_ISSUER")).toBe("PUBLIC_URL");
      expect(issuerOf("task-api", "PROTECTED_RESOURCES")).toBe("MCP_RESOURCE_URL");
    }
  });
});

describe("k8s/ files", () => {
  const files = new Map(
    readdirSync(path.join(REPO_ROOT, "k8s"), { recursive: true, encoding: "utf8" })
      .filter((f) => /\.(ya?ml|json|mjs|env)$/.test(f))
      .map((f) => [`k8s/${f}`, readFileSync(path.join(REPO_ROOT, "k8s", f), "utf8")]),
  );

  it("when every file under k8s/ is scanned, then none holds a Secret value", () => {
    expect(files.size).toBeGreaterThan(10);
    expect(committedSecretValues(files)).toEqual([]);
  });

  it("when a file holds a Secret with data, a password in a URL or a secretGenerator, then the scan names it", () => {
    const bad = new Map([
      ["k8s/a.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\nstringData:\n  token: abc\n"],
      ["k8s/b.json", '{"url": "postgres://taskmesh:s3cret@db:5432/taskmesh"}'],
      ["k8s/c/kustomization.yaml", "secretGenerator:\n  - name: x\n    envs: [secrets.env]\n"],
      ["k8s/d.json", '{"url": "postgres://taskmesh:{taskmesh-postgres/POSTGRES_PASSWORD}@db/x"}'],
    ]);
    expect(committedSecretValues(bad)).toEqual([
      "k8s/a.yaml: a Secret with data/stringData",
      "k8s/b.json: a URL with a password (postgres://taskmesh:s3cret@)",
      "k8s/c/kustomization.yaml: a secretGenerator or env file",
    ]);
  });
});

describe("the checks reject broken manifests", () => {
  const local = (): K8sObject[] => clone(objects("local"));
  // The caller names the shape of the kind it edits.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  const edit = <T extends K8sObject>(
    all: K8sObject[],
    kind: string,
    name: string,
    change: (o: T) => void,
  ): K8sObject[] => {
    change(named<T>(all, kind, name));
    return all;
  };

  it("when an app-port differs from the service's PORT, then the app-id/app-port check says so", () => {
    const all = edit<Workload>(local(), "Deployment", "audit-log", (d) => {
      const a = d.spec.template.metadata.annotations;
      if (a) a["dapr.io/app-port"] = "3999";
    });
    expect(checkServiceConfig(all, loaders, SERVICE_NODE_OPTIONS)).toContain(
      "Deployment/audit-log: dapr.io/app-port 3999 but the app's sidecar listener is on 3103",
    );
  });

  it("when daprd is pointed at the public port, or the Service or a container port exposes the other listeners, then each is named", () => {
    const all = edit<Workload>(local(), "Deployment", "task-api", (d) => {
      const a = d.spec.template.metadata.annotations;
      if (a) a["dapr.io/app-port"] = "3000";
      appContainer(d)?.ports?.push({ name: "dapr-app", containerPort: 3100 });
    });
    const service = named<
      K8sObject & { spec: { ports: { name?: string; port: number; targetPort?: unknown }[] } }
    >(all, "Service", "task-api");
    service.spec.ports.push({ name: "ops", port: 3200, targetPort: "ops" });
    expect(checkServiceConfig(all, loaders, SERVICE_NODE_OPTIONS)).toEqual([
      "Deployment/task-api: dapr.io/app-port 3000 but the app's sidecar listener is on 3100",
      "Deployment/task-api container task-api: the sidecar listener 3100 is a container port",
      'Service/task-api: exposes port ops (only the public listener "http" may be)',
    ]);
  });

  it("when the proxy-headers ConfigMap misses a header the code uses or sets one, then both are named", () => {
    const all = edit<K8sObject & { data: Record<string, string> }>(
      local(),
      "ConfigMap",
      INGRESS_PROXY_HEADERS,
      (c) => {
        delete c.data["x-taskmesh-user-id"];
        c.data["dapr-api-token"] = "x";
      },
    );
    expect(checkIngressClearsHeaders(all, internalHeaderNames())).toEqual([
      `ConfigMap/${INGRESS_PROXY_HEADERS}: does not clear x-taskmesh-user-id`,
      `ConfigMap/${INGRESS_PROXY_HEADERS}: sets dapr-api-token to "x" instead of clearing it`,
    ]);
    expect(internalHeaderNames()).toEqual(
      expect.arrayContaining([
        "dapr-api-token",
        "dapr-caller-app-id",
        "x-taskmesh-user-id",
        "x-taskmesh-scope",
      ]),
    );
  });

  it("when a Deployment sets a variable its config.ts does not know or misses a required one, then it is named", () => {
    const all = edit<Workload>(local(), "Deployment", "recurring-tasks", (d) => {
      const c = appContainer(d);
      c?.env?.push({ name: "TASK_API_APPID", value: "task-api" });
      if (c) c.env = c.env?.filter((e) => e.name !== "APP_API_TOKEN");
    });
    const errors = checkServiceConfig(all, loaders, SERVICE_NODE_OPTIONS);
    expect(errors.some((e) => e.includes("does not parse") && e.includes("APP_API_TOKEN"))).toBe(true);
    const typo = edit<Workload>(local(), "Deployment", "recurring-tasks", (d) => {
      appContainer(d)?.env?.push({ name: "TASK_API_APPID", value: "task-api" });
    });
    expect(checkServiceConfig(typo, loaders, SERVICE_NODE_OPTIONS)).toContain(
      "Deployment/recurring-tasks container recurring-tasks: TASK_API_APPID is not a variable of services/recurring-tasks/src/config.ts",
    );
  });

  it("when a component is scoped to an app that does not use it, or not to one that does, then both are named", () => {
    const all = edit<Component>(local(), "Component", "reminders-cron", (c) => {
      c.scopes = ["mcp-server"];
    });
    expect(checkComponentScopes(all, ASYNCAPI_APPS)).toEqual([
      "Component/reminders-cron: used by notifications but not scoped to it",
      "Component/reminders-cron: scoped to mcp-server, which does not use it",
    ]);
  });

  it("when a subscription names a topic the AsyncAPI document lacks, then it is named", () => {
    const all = edit<Subscription>(local(), "Subscription", "notifications-reminders", (s) => {
      s.spec.topic = "reminder";
    });
    expect(checkTopics(all, CHANNELS)).toEqual([
      "Subscription/notifications-reminders: topic reminder is not in docs/asyncapi.json",
    ]);
  });

  it("when a container may run as root or escalate, then each weakness is named", () => {
    const all = edit<Workload>(local(), "Deployment", "mcp-server", (d) => {
      const c = appContainer(d);
      if (c)
        c.securityContext = {
          ...c.securityContext,
          runAsUser: 0,
          allowPrivilegeEscalation: true,
          capabilities: { drop: [] },
        };
    });
    expect(checkSecurityContexts(all)).toEqual([
      "Deployment/mcp-server container mcp-server: runAsUser must be a non-root uid",
      "Deployment/mcp-server container mcp-server: runAsUser must be 10001",
      "Deployment/mcp-server container mcp-server: allowPrivilegeEscalation is not false",
      "Deployment/mcp-server container mcp-server: capabilities do not drop ALL",
    ]);
  });

  it("when a Secret object is rendered or a reference names a key nobody creates, then both are named", () => {
    const all = local();
    all.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "oops", namespace: "taskmesh" },
      stringData: { a: "b" },
    });
    const pubsub = named<Component>(all, "Component", "taskmesh-pubsub");
    pubsub.spec.metadata?.push({
      name: "saslPassword",
      secretKeyRef: { name: "taskmesh-kafka", key: "password" },
    });
    expect(checkSecrets(all)).toEqual([
      "Secret/oops is rendered: no Secret may come from git",
      "Component/taskmesh-pubsub saslPassword: Secret taskmesh-kafka key password is neither created nor documented by the overlay",
    ]);
  });

  it("when a probe points elsewhere, then the probe check names it", () => {
    const all = edit<Workload>(local(), "Deployment", "task-api", (d) => {
      const c = appContainer(d);
      if (c?.readinessProbe?.httpGet) c.readinessProbe.httpGet.path = "/ready";
    });
    expect(checkProbes(all)).toEqual([
      "Deployment/task-api container task-api: readiness probe is not GET /readyz",
      "Deployment/task-api container task-api: probes /ready, which healthRoutes does not serve",
    ]);
  });

  it("when a service runs another image or tag, or skips waiting for migrations, then it is named", () => {
    const all = edit<Workload>(local(), "Deployment", "notifications", (d) => {
      const c = appContainer(d);
      if (c) c.image = "taskmesh/notification:dev";
      d.spec.template.spec.initContainers = [];
    });
    expect(checkImages(all, TARGETS, "dev")).toEqual([
      "Deployment/notifications container notifications: taskmesh/notification:dev is not a Dockerfile target",
      "Deployment/notifications container notifications: runs taskmesh/notification:dev, not taskmesh/notifications",
      "Deployment/notifications: uses DATABASE_URL but has no wait-for-migrations initContainer",
    ]);
    expect(checkImages(local(), TARGETS, "1.2.3")[0]).toMatch(/is not tagged 1\.2\.3$/);
  });

  it("when a service connects with the migration role's Secret, or the migrate Job skips provision-roles, then each is named", () => {
    const shared = edit<Workload>(local(), "Deployment", "notifications", (d) => {
      for (const c of [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])])
        for (const e of c.env ?? [])
          if (e.name === "DATABASE_URL" && e.valueFrom?.secretKeyRef)
            e.valueFrom.secretKeyRef.name = "taskmesh-db";
    });
    expect(checkImages(shared, TARGETS, "dev")).toEqual([
      "Deployment/notifications container wait-for-migrations: DATABASE_URL must come from the Secret taskmesh-notifications-db",
      "Deployment/notifications container notifications: DATABASE_URL must come from the Secret taskmesh-notifications-db, not taskmesh-db",
    ]);
    const noProvision = edit<Workload>(local(), "Job", "taskmesh-migrate", (j) => {
      j.spec.template.spec.containers = j.spec.template.spec.containers.filter(
        (c) => c.name !== "provision-roles",
      );
    });
    expect(checkImages(noProvision, TARGETS, "dev")).toEqual([
      "Job/taskmesh-migrate: needs the container provision-roles (image taskmesh/migrate)",
    ]);
  });

  it("when an autoscaled Deployment sets replicas or loses its PDB, then it is named", () => {
    const all = edit<Workload>(local(), "Deployment", "task-api", (d) => {
      d.spec.replicas = 2;
    }).filter((o) => !(o.kind === "PodDisruptionBudget" && o.metadata.name === "task-api"));
    expect(checkAvailability(all)).toEqual([
      "Deployment/task-api: no PodDisruptionBudget",
      "Deployment/task-api: sets replicas although an autoscaler owns them",
    ]);
  });

  it("when a pub/sub user lacks the broker label, then the network check names it", () => {
    const all = edit<Workload>(local(), "Deployment", "audit-log", (d) => {
      delete d.spec.template.metadata.labels?.["taskmesh.dev/kafka-client"];
    });
    expect(checkNetworkLabels(all)).toEqual([
      "Deployment/audit-log: uses the pub/sub but no label taskmesh.dev/kafka-client",
    ]);
  });

  it("when a policy opens an app's port to every pod, then the ingress check names it", () => {
    const all = local();
    all.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "open", namespace: "taskmesh" },
      spec: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "audit-log" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: {} }], ports: [{ port: "http" }] }, { ports: [{ port: 9090 }] }],
      },
    });
    expect(checkServiceIngress(all)).toEqual([
      "NetworkPolicy/open (Deployment/audit-log): the app port open to more than the ingress controller",
      "NetworkPolicy/open (Deployment/audit-log): admits every source",
      "NetworkPolicy/open (Deployment/audit-log): opens port 9090",
    ]);
  });

  it("when an Ingress routes everything under / to task-api, then every private path it publishes is named", () => {
    const all = edit(local(), "Ingress", "taskmesh", (i) => {
      const spec = i.spec as { rules: { http: { paths: { path: string }[] } }[] };
      const first = spec.rules[0]?.http.paths[0];
      if (first) first.path = "/";
    });
    expect(checkPrivatePathsHidden(all)).toEqual(
      PRIVATE_PATHS.map((p) => `Ingress/taskmesh: / (Prefix) publishes ${p} of task-api`),
    );
  });

  it("when the stream's Ingress buffers, then it is named", () => {
    const all = edit(local(), "Ingress", "taskmesh-stream", (i) => {
      const a = i.metadata.annotations;
      if (a) a["nginx.ingress.kubernetes.io/proxy-buffering"] = "on";
    });
    expect(checkStreamIngress(all, 15_000)).toEqual(["Ingress/taskmesh-stream: proxy-buffering is not off"]);
  });

  it("when the Dapr tokens are shared between apps, then the annotation check names it", () => {
    const all = edit<Workload>(local(), "Deployment", "mcp-server", (d) => {
      const a = d.spec.template.metadata.annotations;
      if (a) a["dapr.io/app-token-secret"] = "taskmesh-task-api-app-token";
    });
    expect(checkDaprAnnotations(all)).toEqual([
      'Deployment/mcp-server: dapr.io/app-token-secret must be the app\'s own token Secret (is "taskmesh-task-api-app-token")',
      "Deployment/mcp-server: APP_API_TOKEN must come from taskmesh-task-api-app-token key token",
    ]);
  });
});
