/**
 * Cross-checks of rendered Kubernetes manifests (an overlay's `kustomize build` output)
 * against the rest of the repository: the services' configuration schemas and sources, the
 * AsyncAPI document, the Dockerfile's targets. Each check returns one message per problem
 * (empty = fine), so tests can feed it both the real output and deliberately broken copies.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  rules?: { verbs: string[]; resources?: string[]; resourceNames?: string[] }[];
  scopes?: string[];
  auth?: { secretStore?: string };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
  privileged?: boolean;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  volumes?: { name: string; emptyDir?: unknown }[];
  topologySpreadConstraints?: {
    topologyKey: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }[];
}

export interface PodTemplate {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

export interface Workload extends K8sObject {
  spec: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template: PodTemplate };
}

export interface MetadataItem {
  name: string;
  value?: unknown;
  envRef?: string;
  secretKeyRef?: { name: string; key?: string };
}

export interface Component extends K8sObject {
  spec: { type: string; version: string; metadata?: MetadataItem[] };
}

export interface Subscription extends K8sObject {
  spec: { pubsubname: string; topic: string; deadLetterTopic?: string; routes: { default?: string } };
}

export const SERVICES = readdirSync(path.join(REPO_ROOT, "services"), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(path.join(REPO_ROOT, "services", e.name, "src/config.ts")))
  .map((e) => e.name)
  .sort();

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job", "DaemonSet"]);

export const clone = <T>(value: T): T => structuredClone(value);
export const ofKind = <T extends K8sObject>(objects: readonly K8sObject[], kind: string): T[] =>
  objects.filter((o) => o.kind === kind) as T[];
// The caller names the shape of the kind it asks for.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export const named = <T extends K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found as T;
};
export const workloads = (objects: readonly K8sObject[]): Workload[] =>
  objects.filter((o) => WORKLOAD_KINDS.has(o.kind)) as Workload[];
/** The Deployments that Dapr injects a sidecar into. */
export const daprDeployments = (objects: readonly K8sObject[]): Workload[] =>
  ofKind<Workload>(objects, "Deployment").filter(
    (d) => d.spec.template.metadata.annotations?.["dapr.io/enabled"] === "true",
  );
const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];
const where = (o: K8sObject, c?: Container): string =>
  `${o.kind}/${o.metadata.name}${c ? ` container ${c.name}` : ""}`;

/** Image name without registry prefix or tag: "taskmesh/task-api" for "reg.io/taskmesh/task-api:1.0". */
export function imageRepository(image: string): { repository: string; tag: string | undefined } {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  const name = colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
  const tag = colon === -1 ? undefined : withoutDigest.slice(colon + 1);
  const parts = name.split("/");
  return { repository: parts.slice(-2).join("/"), tag };
}
const isTaskmeshImage = (image: string): boolean => imageRepository(image).repository.startsWith("taskmesh/");

// ---------------------------------------------------------------------------------------------
// Configuration of the services

type ConfigLoader = (env: Record<string, string | undefined>) => Record<string, unknown>;

/** Each service's `load…Config` from services/<name>/src/config.ts. */
export async function configLoaders(): Promise<Map<string, ConfigLoader>> {
  const loaders = new Map<string, ConfigLoader>();
  for (const service of SERVICES) {
    const mod = (await import(path.join(REPO_ROOT, "services", service, "src/config.ts"))) as Record<
      string,
      unknown
    >;
    const [loader, ...more] = Object.entries(mod).filter(
      ([name, value]) => /^load\w*Config$/.test(name) && typeof value === "function",
    );
    if (!loader || more.length > 0)
      throw new Error(`services/${service}/src/config.ts: expected one load…Config`);
    loaders.set(service, loader[1] as ConfigLoader);
  }
  return loaders;
}

/** A value that satisfies every secret's schema (32 bytes base64: long enough, and a valid key). */
export const SECRET_PLACEHOLDER = Buffer.alloc(32, 7).toString("base64");

/**
 * The container's environment as the kubelet would build it: ConfigMap references resolved
 * from the rendered ConfigMaps, Secret references replaced by a placeholder.
 */
export function resolveEnv(
  objects: readonly K8sObject[],
  container: Container,
): { env: Record<string, string>; errors: string[] } {
  const env: Record<string, string> = {};
  const errors: string[] = [];
  for (const v of container.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.secretKeyRef) env[v.name] = SECRET_PLACEHOLDER;
    else if (v.valueFrom?.configMapKeyRef) {
      const ref = v.valueFrom.configMapKeyRef;
      const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === ref.name);
      const value = map?.data?.[ref.key];
      if (value === undefined) errors.push(`${v.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      else env[v.name] = value;
    } else errors.push(`${v.name}: no value`);
  }
  return { env, errors };
}

/**
 * Every Dapr-enabled Deployment is a service of services/, its app-id is its name, and its
 * app-port is its sidecar listener (APP_PORT parsed by its config.ts, 127.0.0.1 in the pod, no
 * container port); the container's `http` port is its public listener (PORT) and the only port
 * its Service exposes; its `ops` port is its operations listener (OPS_PORT), where Prometheus
 * scrapes, never a Service port. Its environment parses with that config.ts and names only
 * variables the schema knows.
 */
export function checkServiceConfig(
  objects: readonly K8sObject[],
  loaders: ReadonlyMap<string, ConfigLoader>,
  nodeOptions: string,
): string[] {
  const errors: string[] = [];
  const deployments = daprDeployments(objects);
  const ids = deployments.map((d) => d.spec.template.metadata.annotations?.["dapr.io/app-id"]);
  for (const service of SERVICES)
    if (!ids.includes(service)) errors.push(`services/${service} has no Dapr-enabled Deployment`);
  for (const d of deployments) {
    const annotations = d.spec.template.metadata.annotations ?? {};
    const appId = annotations["dapr.io/app-id"] ?? "";
    const load = loaders.get(appId);
    if (!load) {
      errors.push(`${where(d)}: dapr.io/app-id ${appId} is not a service in services/`);
      continue;
    }
    if (d.metadata.name !== appId) errors.push(`${where(d)}: named differently from its app-id ${appId}`);
    const app = d.spec.template.spec.containers.find((c) => c.name === appId);
    if (!app) {
      errors.push(`${where(d)}: no container named ${appId}`);
      continue;
    }
    const resolved = resolveEnv(objects, app);
    errors.push(...resolved.errors.map((e) => `${where(d, app)}: ${e}`));
    let config: Record<string, unknown>;
    try {
      config = load(resolved.env);
    } catch (err) {
      errors.push(
        `${where(d, app)}: its environment does not parse with services/${appId}/src/config.ts: ${String(err)}`,
      );
      continue;
    }
    for (const name of Object.keys(resolved.env)) {
      if (name !== "NODE_OPTIONS" && !(name in config))
        errors.push(`${where(d, app)}: ${name} is not a variable of services/${appId}/src/config.ts`);
    }
    if (resolved.env.NODE_OPTIONS !== nodeOptions)
      errors.push(`${where(d, app)}: NODE_OPTIONS is not SERVICE_NODE_OPTIONS (${nodeOptions})`);
    const appPort = Number(annotations["dapr.io/app-port"]);
    if (config.APP_PORT !== appPort)
      errors.push(
        `${where(d)}: dapr.io/app-port ${appPort} but the app's sidecar listener is on ${String(config.APP_PORT)}`,
      );
    const http = app.ports?.find((p) => p.name === "http");
    if (http?.containerPort !== config.PORT)
      errors.push(
        `${where(d, app)}: port "http" is ${String(http?.containerPort)}, not the public listener ${String(config.PORT)}`,
      );
    const ops = app.ports?.find((p) => p.name === "ops");
    if (ops?.containerPort !== config.OPS_PORT)
      errors.push(
        `${where(d, app)}: port "ops" is ${String(ops?.containerPort)}, not the operations listener ${String(config.OPS_PORT)}`,
      );
    if (app.ports?.some((p) => p.containerPort === config.APP_PORT))
      errors.push(`${where(d, app)}: the sidecar listener ${String(config.APP_PORT)} is a container port`);
    if (annotations["prometheus.io/port"] !== String(config.OPS_PORT))
      errors.push(
        `${where(d)}: prometheus.io/port ${String(annotations["prometheus.io/port"])} is not the operations listener ${String(config.OPS_PORT)}`,
      );
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === appId) as
      | (K8sObject & {
          spec: {
            selector?: Record<string, string>;
            ports: { name?: string; port: number; targetPort?: unknown }[];
          };
        })
      | undefined;
    if (!service) errors.push(`${where(d)}: no Service ${appId}`);
    else {
      const port = service.spec.ports.find((p) => p.name === "http");
      if (!port || (port.targetPort !== "http" && port.targetPort !== config.PORT))
        errors.push(`Service/${appId}: port "http" does not target the public listener`);
      for (const p of service.spec.ports)
        if (p !== port)
          errors.push(
            `Service/${appId}: exposes port ${p.name ?? String(p.port)} (only the public listener "http" may be)`,
          );
      const labels = d.spec.template.metadata.labels ?? {};
      for (const [k, v] of Object.entries(service.spec.selector ?? {}))
        if (labels[k] !== v) errors.push(`Service/${appId}: selector ${k}=${v} does not select ${where(d)}`);
    }
  }
  return errors;
}

/** The Dapr annotations every service's pod must carry, and what they must say. */
export function checkDaprAnnotations(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const configurations = ofKind(objects, "Configuration").map((c) => c.metadata.name);
  for (const d of daprDeployments(objects)) {
    const a = d.spec.template.metadata.annotations ?? {};
    const appId = a["dapr.io/app-id"] ?? "";
    const expect = (key: string, ok: (v: string | undefined) => boolean, what: string): void => {
      if (!ok(a[key])) errors.push(`${where(d)}: ${key} must be ${what} (is ${JSON.stringify(a[key])})`);
    };
    expect("dapr.io/app-protocol", (v) => v === "http", '"http"');
    expect("dapr.io/enable-app-health-check", (v) => v === "true", '"true"');
    expect("dapr.io/app-health-check-path", (v) => v === "/healthz", "/healthz");
    expect(
      "dapr.io/config",
      (v) => v !== undefined && configurations.includes(v),
      "a rendered Configuration",
    );
    expect(
      "dapr.io/app-token-secret",
      (v) => v === `taskmesh-${appId}-app-token`,
      "the app's own token Secret",
    );
    expect(
      "dapr.io/api-token-secret",
      (v) => v === `taskmesh-${appId}-api-token`,
      "the app's own token Secret",
    );
    expect("dapr.io/log-as-json", (v) => v === "true", '"true"');
    expect("dapr.io/disable-builtin-k8s-secret-store", (v) => v === "true", '"true"');
    for (const r of ["cpu-request", "cpu-limit", "memory-request", "memory-limit"])
      expect(`dapr.io/sidecar-${r}`, (v) => v !== undefined && /^\d+(m|Mi|Gi)?$/.test(v), "a quantity");
    const app = d.spec.template.spec.containers.find((c) => c.name === appId);
    // The token the sidecar sends to the app must be the one the app checks, and vice versa.
    const secretOf = (name: string) => app?.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    const appToken = secretOf("APP_API_TOKEN");
    if (appToken?.name !== a["dapr.io/app-token-secret"] || appToken?.key !== "token")
      errors.push(
        `${where(d)}: APP_API_TOKEN must come from ${a["dapr.io/app-token-secret"] ?? "?"} key token`,
      );
    const apiToken = secretOf("DAPR_API_TOKEN");
    if (apiToken && (apiToken.name !== a["dapr.io/api-token-secret"] || apiToken.key !== "token"))
      errors.push(
        `${where(d)}: DAPR_API_TOKEN must come from ${a["dapr.io/api-token-secret"] ?? "?"} key token`,
      );
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Dapr components and topics

function sourceText(service: string): string {
  const dir = path.join(REPO_ROOT, "services", service, "src");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  return files.map((f) => readFileSync(path.join(dir, f), "utf8")).join("\n");
}

/** The apps that use a component, from evidence: AsyncAPI operations, names and routes in their sources. */
export function componentUsers(component: Component, asyncApiApps: readonly string[]): string[] {
  const type = component.spec.type;
  if (type.startsWith("pubsub.")) return [...new Set(asyncApiApps)].sort();
  const route = component.spec.metadata?.find((m) => m.name === "route")?.value;
  return SERVICES.filter((service) => {
    const source = sourceText(service);
    if (type.startsWith("bindings.") && typeof route === "string") return source.includes(`"${route}"`);
    return source.includes(`"${component.metadata.name}"`);
  });
}

/** Every component is scoped to exactly the apps that use it (no app sees one it does not use). */
export function checkComponentScopes(
  objects: readonly K8sObject[],
  asyncApiApps: readonly string[],
): string[] {
  const errors: string[] = [];
  for (const c of ofKind<Component>(objects, "Component")) {
    const users = componentUsers(c, asyncApiApps);
    const scopes = [...(c.scopes ?? [])].sort();
    if (scopes.length === 0) errors.push(`Component/${c.metadata.name}: no scopes (every app would load it)`);
    for (const app of users)
      if (!scopes.includes(app))
        errors.push(`Component/${c.metadata.name}: used by ${app} but not scoped to it`);
    for (const app of scopes)
      if (!users.includes(app))
        errors.push(`Component/${c.metadata.name}: scoped to ${app}, which does not use it`);
  }
  return errors;
}

/**
 * Every topic a service subscribes to (declarative Subscriptions; the apps' /dapr/subscribe
 * must answer no programmatic ones) and every topic the pub/sub allows is an AsyncAPI channel.
 */
export function checkTopics(objects: readonly K8sObject[], channels: readonly string[]): string[] {
  const errors: string[] = [];
  const pubsubs = new Set(
    ofKind<Component>(objects, "Component")
      .filter((c) => c.spec.type.startsWith("pubsub."))
      .map((c) => c.metadata.name),
  );
  for (const s of ofKind<Subscription>(objects, "Subscription")) {
    if (!pubsubs.has(s.spec.pubsubname))
      errors.push(`Subscription/${s.metadata.name}: pub/sub ${s.spec.pubsubname} is not rendered`);
    for (const topic of [s.spec.topic, s.spec.deadLetterTopic])
      if (topic === undefined) errors.push(`Subscription/${s.metadata.name}: no dead-letter topic`);
      else if (!channels.includes(topic))
        errors.push(`Subscription/${s.metadata.name}: topic ${topic} is not in docs/asyncapi.json`);
  }
  for (const c of ofKind<Component>(objects, "Component").filter((x) => x.spec.type.startsWith("pubsub."))) {
    const value = c.spec.metadata?.find((m) => m.name === "allowedTopics")?.value;
    const allowed = typeof value === "string" ? value : "";
    for (const topic of allowed.split(",").filter(Boolean))
      if (!channels.includes(topic))
        errors.push(`Component/${c.metadata.name}: allowed topic ${topic} is not in docs/asyncapi.json`);
  }
  for (const service of SERVICES) {
    const source = sourceText(service);
    const handler = /\.get\("\/dapr\/subscribe",[^]*?res\.json\(([^)]*)\)/.exec(source);
    if (handler && handler[1]?.trim() !== "[]")
      errors.push(
        `services/${service}: /dapr/subscribe answers programmatic subscriptions (${handler[1] ?? ""})`,
      );
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Pods

/** The restricted securityContext on every container; taskmesh's images run as 10001. */
export function checkSecurityContexts(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  for (const w of workloads(objects)) {
    const pod = w.spec.template.spec;
    for (const c of allContainers(pod)) {
      const sc = c.securityContext ?? {};
      const at = where(w, c);
      if (sc.runAsNonRoot !== true) errors.push(`${at}: runAsNonRoot is not true`);
      if (sc.runAsUser === undefined || sc.runAsUser === 0)
        errors.push(`${at}: runAsUser must be a non-root uid`);
      if (isTaskmeshImage(c.image) && sc.runAsUser !== 10001) errors.push(`${at}: runAsUser must be 10001`);
      if (sc.readOnlyRootFilesystem !== true) errors.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) errors.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) errors.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) errors.push(`${at}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length > 0) errors.push(`${at}: adds capabilities`);
      const seccomp = sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type;
      if (seccomp !== "RuntimeDefault") errors.push(`${at}: seccompProfile is not RuntimeDefault`);
      if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory)
        errors.push(`${at}: needs cpu/memory requests and a memory limit`);
      // A read-only root needs somewhere to write temp files.
      if (
        isTaskmeshImage(c.image) &&
        !(c.volumeMounts ?? []).some((m) => m.mountPath === "/tmp") &&
        c.name !== "wait-for-migrations"
      )
        errors.push(`${at}: no writable /tmp (emptyDir)`);
    }
    if (pod.securityContext?.runAsNonRoot !== true)
      errors.push(`${where(w)}: pod securityContext.runAsNonRoot is not true`);
  }
  return errors;
}

/** Readiness on /readyz, liveness on /healthz, and the apps serve both. */
export function checkProbes(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const lifecycle = readFileSync(path.join(REPO_ROOT, "packages/core/src/http/lifecycle.ts"), "utf8");
  const served = ["/healthz", "/readyz"].filter((p) => lifecycle.includes(`router.get("${p}"`));
  for (const d of daprDeployments(objects)) {
    const appId = d.spec.template.metadata.annotations?.["dapr.io/app-id"] ?? "";
    const app = d.spec.template.spec.containers.find((c) => c.name === appId);
    if (!app) continue;
    if (app.readinessProbe?.httpGet?.path !== "/readyz")
      errors.push(`${where(d, app)}: readiness probe is not GET /readyz`);
    if (app.livenessProbe?.httpGet?.path !== "/healthz")
      errors.push(`${where(d, app)}: liveness probe is not GET /healthz`);
    for (const probe of [app.readinessProbe, app.livenessProbe, app.startupProbe]) {
      const p = probe?.httpGet;
      if (!p) continue;
      if (!served.includes(p.path))
        errors.push(`${where(d, app)}: probes ${p.path}, which healthRoutes does not serve`);
      if (p.port !== "ops")
        errors.push(`${where(d, app)}: probes port ${String(p.port)}, not the operations listener "ops"`);
    }
    // createServiceApp of @taskmesh/core mounts healthRoutes for every service built on it.
    const appFile = path.join(REPO_ROOT, "services", appId, "src/app.ts");
    const appSource = existsSync(appFile) ? readFileSync(appFile, "utf8") : "";
    if (!appSource.includes("healthRoutes(") && !appSource.includes("createServiceApp("))
      errors.push(`services/${appId}/src/app.ts does not mount healthRoutes (/healthz, /readyz)`);
  }
  return errors;
}

/**
 * taskmesh containers run the images taskmesh/<Dockerfile target>, one tag per overlay; each
 * service runs its own target; the services that use PostgreSQL wait for migrations first.
 */
export function checkImages(
  objects: readonly K8sObject[],
  targets: readonly string[],
  tag: string,
): string[] {
  const errors: string[] = [];
  for (const w of workloads(objects)) {
    for (const c of allContainers(w.spec.template.spec)) {
      if (!isTaskmeshImage(c.image)) continue;
      const { repository, tag: imageTag } = imageRepository(c.image);
      const target = repository.slice("taskmesh/".length);
      if (!targets.includes(target)) errors.push(`${where(w, c)}: ${c.image} is not a Dockerfile target`);
      if (imageTag !== tag) errors.push(`${where(w, c)}: ${c.image} is not tagged ${tag}`);
    }
  }
  for (const d of daprDeployments(objects)) {
    const appId = d.spec.template.metadata.annotations?.["dapr.io/app-id"] ?? "";
    const pod = d.spec.template.spec;
    const app = pod.containers.find((c) => c.name === appId);
    if (app && imageRepository(app.image).repository !== `taskmesh/${appId}`)
      errors.push(`${where(d, app)}: runs ${app.image}, not taskmesh/${appId}`);
    if (app?.command) errors.push(`${where(d, app)}: overrides the image's command (node dist/main.js)`);
    const usesDatabase = (app?.env ?? []).some((e) => e.name === "DATABASE_URL");
    const wait = pod.initContainers?.find((c) => c.name === "wait-for-migrations");
    if (usesDatabase && !wait)
      errors.push(`${where(d)}: uses DATABASE_URL but has no wait-for-migrations initContainer`);
    if (!usesDatabase && wait) errors.push(`${where(d)}: waits for migrations without using the database`);
    if (wait) {
      if (imageRepository(wait.image).repository !== "taskmesh/migrate")
        errors.push(`${where(d, wait)}: image must be taskmesh/migrate`);
      if (wait.command?.join(" ") !== "node scripts/migrate/wait-for-migrations.mjs")
        errors.push(`${where(d, wait)}: must run node scripts/migrate/wait-for-migrations.mjs`);
      // The service's own login (a role per service), the same as its app container's, never the
      // migration role's taskmesh-db.
      if (
        wait.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef?.name !==
        `taskmesh-${appId}-db`
      )
        errors.push(`${where(d, wait)}: DATABASE_URL must come from the Secret taskmesh-${appId}-db`);
    }
    const appDb = (app?.env ?? []).find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef?.name;
    if (usesDatabase && appDb !== `taskmesh-${appId}-db`)
      errors.push(
        `${where(d, app)}: DATABASE_URL must come from the Secret taskmesh-${appId}-db, not ${appDb}`,
      );
  }
  const migrate = objects.find((o) => o.kind === "Job" && o.metadata.name === "taskmesh-migrate") as
    Workload | undefined;
  // First `prisma migrate deploy` (the image's default command), then the services' logins.
  const job = migrate?.spec.template.spec.initContainers?.find((c) => c.name === "migrate");
  const provision = migrate?.spec.template.spec.containers.find((c) => c.name === "provision-roles");
  if (!migrate || !job) errors.push("no Job taskmesh-migrate with the initContainer migrate");
  else {
    if (imageRepository(job.image).repository !== "taskmesh/migrate")
      errors.push("Job/taskmesh-migrate: image must be taskmesh/migrate");
    if (job.command || job.args)
      errors.push("Job/taskmesh-migrate: must run the image's default command (prisma migrate deploy)");
    if (!provision || imageRepository(provision.image).repository !== "taskmesh/migrate")
      errors.push("Job/taskmesh-migrate: needs the container provision-roles (image taskmesh/migrate)");
    else if (provision.command?.join(" ") !== "node scripts/migrate/provision-roles.mjs")
      errors.push("Job/taskmesh-migrate: provision-roles must run node scripts/migrate/provision-roles.mjs");
  }
  return errors;
}

/** PodDisruptionBudgets for every service, autoscalers for task-api and mcp-server, spread over nodes and zones. */
export function checkAvailability(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const pdbs = ofKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }>(
    objects,
    "PodDisruptionBudget",
  );
  const hpas = ofKind<
    K8sObject & {
      spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number };
    }
  >(objects, "HorizontalPodAutoscaler");
  for (const d of daprDeployments(objects)) {
    const labels = d.spec.template.metadata.labels ?? {};
    const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    if (!pdbs.some((p) => selects(p.spec.selector.matchLabels)))
      errors.push(`${where(d)}: no PodDisruptionBudget`);
    const hpa = hpas.find(
      (h) => h.spec.scaleTargetRef.kind === "Deployment" && h.spec.scaleTargetRef.name === d.metadata.name,
    );
    const wantsHpa = ["task-api", "mcp-server"].includes(d.metadata.name);
    if (wantsHpa && !hpa) errors.push(`${where(d)}: no HorizontalPodAutoscaler`);
    if (hpa && d.spec.replicas !== undefined)
      errors.push(`${where(d)}: sets replicas although an autoscaler owns them`);
    if (hpa && !(hpa.spec.minReplicas >= 1 && hpa.spec.maxReplicas > hpa.spec.minReplicas))
      errors.push(
        `HorizontalPodAutoscaler/${hpa.metadata.name}: bounds ${hpa.spec.minReplicas}..${hpa.spec.maxReplicas}`,
      );
    const keys = (d.spec.template.spec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
    for (const key of ["kubernetes.io/hostname", "topology.kubernetes.io/zone"])
      if (!keys.includes(key)) errors.push(`${where(d)}: no topology spread over ${key}`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** The Secrets an overlay gets (ConfigMap taskmesh-secrets-spec, merged in file order as the Job does). */
export function secretsSpec(objects: readonly K8sObject[]): Map<string, Set<string>> {
  const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "taskmesh-secrets-spec");
  const spec = new Map<string, Set<string>>();
  for (const file of Object.keys(map?.data ?? {}).sort()) {
    const doc = JSON.parse(map?.data?.[file] ?? "{}") as {
      secrets?: Record<string, Record<string, unknown>>;
    };
    for (const [name, keys] of Object.entries(doc.secrets ?? {}))
      spec.set(name, new Set([...(spec.get(name) ?? []), ...Object.keys(keys)]));
  }
  return spec;
}

/** Every Secret reference in the rendered objects (pods, Dapr annotations, components). */
export function secretReferences(
  objects: readonly K8sObject[],
): { from: string; name: string; key: string }[] {
  const refs: { from: string; name: string; key: string }[] = [];
  for (const w of workloads(objects)) {
    for (const c of allContainers(w.spec.template.spec))
      for (const e of c.env ?? [])
        if (e.valueFrom?.secretKeyRef)
          refs.push({ from: `${where(w, c)} ${e.name}`, ...e.valueFrom.secretKeyRef });
    const a = w.spec.template.metadata.annotations ?? {};
    for (const key of ["dapr.io/app-token-secret", "dapr.io/api-token-secret"]) {
      const name = a[key];
      if (name) refs.push({ from: `${where(w)} ${key}`, name, key: "token" });
    }
  }
  for (const c of ofKind<Component>(objects, "Component"))
    for (const m of c.spec.metadata ?? [])
      if (m.secretKeyRef)
        refs.push({
          from: `Component/${c.metadata.name} ${m.name}`,
          name: m.secretKeyRef.name,
          key: m.secretKeyRef.key ?? m.secretKeyRef.name,
        });
  return refs;
}

/**
 * No Secret object is rendered (their values would be in git); every reference points at a
 * Secret key that the overlay's secrets spec creates or documents; the Job's Role reaches
 * exactly those Secrets; components resolve secrets through the operator, never inline.
 */
export function checkSecrets(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects.filter((x) => x.kind === "Secret"))
    errors.push(`Secret/${o.metadata.name} is rendered: no Secret may come from git`);
  const spec = secretsSpec(objects);
  if (spec.size === 0) errors.push("no ConfigMap taskmesh-secrets-spec");
  for (const ref of secretReferences(objects))
    if (!spec.get(ref.name)?.has(ref.key))
      errors.push(
        `${ref.from}: Secret ${ref.name} key ${ref.key} is neither created nor documented by the overlay`,
      );
  const role = objects.find((o) => o.kind === "Role" && o.metadata.name === "taskmesh-secrets-init");
  const names = (role?.rules ?? []).flatMap((r) => r.resourceNames ?? []).sort();
  if (JSON.stringify(names) !== JSON.stringify([...spec.keys()].sort()))
    errors.push(
      `Role/taskmesh-secrets-init: resourceNames ${names.join(",")} differ from the spec's Secrets ${[...spec.keys()].sort().join(",")}`,
    );
  for (const c of ofKind<Component>(objects, "Component")) {
    const refs = (c.spec.metadata ?? []).filter((m) => m.secretKeyRef);
    if (refs.length > 0 && c.auth?.secretStore !== "kubernetes")
      errors.push(
        `Component/${c.metadata.name}: secretKeyRefs need auth.secretStore "kubernetes" (resolved by the operator)`,
      );
    for (const m of c.spec.metadata ?? []) {
      if (m.envRef) errors.push(`Component/${c.metadata.name}: ${m.name} reads daprd's environment (envRef)`);
      if (/password|secret|token|connectionstring|key$/i.test(m.name) && m.value !== undefined)
        errors.push(`Component/${c.metadata.name}: ${m.name} is inline`);
    }
  }
  return errors;
}

/** Files under k8s/ that hold a Secret object with values. */
export function committedSecretValues(files: ReadonlyMap<string, string>): string[] {
  const errors: string[] = [];
  for (const [file, text] of files) {
    for (const doc of text.split(/^---$/m)) {
      if (/^kind:\s*Secret\s*$/m.test(doc) && /^(data|stringData):/m.test(doc))
        errors.push(`${file}: a Secret with data/stringData`);
    }
    // Credentials inside URLs: postgres://user:password@host (templates use {secret/key} references).
    for (const match of text.matchAll(/[a-z]+:\/\/[^/\s:@"]+:([^@\s"]+)@/g))
      if (!/^\{[a-z0-9-]+\/[A-Za-z0-9_]+\}$/.test(match[1] ?? "") && !/^[A-Z_]+$/.test(match[1] ?? ""))
        errors.push(`${file}: a URL with a password (${match[0]})`);
    if (/^\s*(secretGenerator|envs?):/m.test(text) && file.endsWith("kustomization.yaml"))
      errors.push(`${file}: a secretGenerator or env file`);
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Network

/**
 * Pods carry the labels the NetworkPolicies select on for what they use: the broker (pods of
 * apps in the pub/sub's scopes), PostgreSQL (DATABASE_URL or a state store), the ingress (the
 * Ingresses' backends); every backend is a rendered Service port.
 */
export function checkNetworkLabels(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const components = ofKind<Component>(objects, "Component");
  const scopedTo = (prefix: string) =>
    new Set(components.filter((c) => c.spec.type.startsWith(prefix)).flatMap((c) => c.scopes ?? []));
  const kafkaApps = scopedTo("pubsub.");
  const stateApps = scopedTo("state.postgresql");
  interface Backend {
    service: { name: string; port: { name?: string; number?: number } };
  }
  const ingresses = ofKind<
    K8sObject & { spec: { rules: { http: { paths: { path: string; backend: Backend }[] } }[] } }
  >(objects, "Ingress");
  const backends = ingresses.flatMap((i) =>
    i.spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service)),
  );
  const policies = ofKind<K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> } } }>(
    objects,
    "NetworkPolicy",
  );
  const selected = (label: string) =>
    policies.some((p) => p.spec.podSelector.matchLabels?.[label] === "true");
  for (const label of [
    "taskmesh.dev/kafka-client",
    "taskmesh.dev/postgres-client",
    "taskmesh.dev/ingress",
    "taskmesh.dev/dapr",
  ])
    if (!selected(label)) errors.push(`no NetworkPolicy selects ${label}`);
  if (
    !policies.some(
      (p) =>
        Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 && p.metadata.name === "default-deny",
    )
  )
    errors.push("no default-deny NetworkPolicy");
  for (const d of daprDeployments(objects)) {
    const appId = d.spec.template.metadata.annotations?.["dapr.io/app-id"] ?? "";
    const labels = d.spec.template.metadata.labels ?? {};
    const app = d.spec.template.spec.containers.find((c) => c.name === appId);
    const needs = (label: string, why: boolean, what: string) => {
      if (why && labels[label] !== "true") errors.push(`${where(d)}: ${what} but no label ${label}`);
      if (!why && labels[label] === "true") errors.push(`${where(d)}: label ${label} without ${what}`);
    };
    needs("taskmesh.dev/kafka-client", kafkaApps.has(appId), "uses the pub/sub");
    needs(
      "taskmesh.dev/postgres-client",
      stateApps.has(appId) || (app?.env ?? []).some((e) => e.name === "DATABASE_URL"),
      "uses PostgreSQL",
    );
    needs(
      "taskmesh.dev/ingress",
      backends.some((b) => b.name === appId),
      "is an Ingress backend",
    );
    needs("taskmesh.dev/dapr", true, "has a sidecar");
  }
  for (const b of backends) {
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === b.name) as
      (K8sObject & { spec: { ports: { name?: string; port: number }[] } }) | undefined;
    if (!service?.spec.ports.some((p) => p.name === b.port.name || p.port === b.port.number))
      errors.push(
        `Ingress backend ${b.name}:${b.port.name ?? String(b.port.number)} is not a rendered Service port`,
      );
  }
  return errors;
}

/** The live stream's Ingress: unbuffered, with a read timeout far above the app's heartbeat. */
export function checkStreamIngress(objects: readonly K8sObject[], heartbeatMs: number): string[] {
  const errors: string[] = [];
  const ingresses = ofKind<
    K8sObject & {
      spec: { rules: { http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] };
    }
  >(objects, "Ingress");
  const stream = ingresses.find((i) =>
    i.spec.rules.some((r) => r.http.paths.some((p) => p.path === "/v1/stream")),
  );
  if (!stream) return ["no Ingress routes /v1/stream"];
  const a = stream.metadata.annotations ?? {};
  if (a["nginx.ingress.kubernetes.io/proxy-buffering"] !== "off")
    errors.push(`Ingress/${stream.metadata.name}: proxy-buffering is not off`);
  const read = Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]);
  if (!(read * 1000 >= 10 * heartbeatMs))
    errors.push(
      `Ingress/${stream.metadata.name}: proxy-read-timeout ${read}s is not well above the ${heartbeatMs} ms heartbeat`,
    );
  const backend = stream.spec.rules.flatMap((r) => r.http.paths).find((p) => p.path === "/v1/stream")?.backend
    .service.name;
  if (backend !== "notifications")
    errors.push(`Ingress/${stream.metadata.name}: /v1/stream goes to ${String(backend)}, not notifications`);
  for (const service of ["task-api", "mcp-server"])
    if (
      !ingresses.some((i) =>
        i.spec.rules.some((r) => r.http.paths.some((p) => p.backend.service.name === service)),
      )
    )
      errors.push(`no Ingress routes to ${service}`);
  return errors;
}

interface PolicyPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface NetworkPolicy extends K8sObject {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: { port?: string | number }[] }[];
  };
}

/**
 * What may reach the services' pods: other taskmesh sidecars on daprd's internal gRPC port
 * (50002) and, for Ingress backends only, the ingress-nginx controller on the app's port. An
 * app's port is never open to other pods (its own sidecar reaches it over localhost).
 */
export function checkServiceIngress(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const policies = ofKind<NetworkPolicy>(objects, "NetworkPolicy");
  const selects = (policy: NetworkPolicy, labels: Record<string, string>) =>
    Object.entries(policy.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const fromMonitoring = (peer: PolicyPeer) =>
    peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "monitoring" &&
    peer.ipBlock === undefined;
  const fromIngressController = (peer: PolicyPeer) =>
    peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] === "ingress-nginx" &&
    peer.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "ingress-nginx";
  const fromSidecars = (peer: PolicyPeer) =>
    peer.namespaceSelector === undefined && peer.podSelector?.matchLabels?.["taskmesh.dev/dapr"] === "true";
  for (const d of daprDeployments(objects)) {
    const labels = d.spec.template.metadata.labels ?? {};
    const applying = policies.filter((p) => selects(p, labels));
    if (
      !applying.some(
        (p) =>
          Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 &&
          (p.spec.policyTypes ?? []).includes("Ingress") &&
          !p.spec.ingress,
      )
    )
      errors.push(`${where(d)}: no default-deny ingress policy applies`);
    for (const p of applying) {
      for (const rule of p.spec.ingress ?? []) {
        const at = `NetworkPolicy/${p.metadata.name} (${where(d)})`;
        if (!rule.from || rule.from.length === 0) errors.push(`${at}: admits every source`);
        if (!rule.ports || rule.ports.length === 0) errors.push(`${at}: admits every port`);
        for (const port of rule.ports ?? []) {
          if (port.port === 50002) {
            if (!(rule.from ?? []).every(fromSidecars))
              errors.push(`${at}: daprd's port 50002 open to more than taskmesh sidecars`);
          } else if (port.port === "http") {
            if (!(rule.from ?? []).every(fromIngressController))
              errors.push(`${at}: the app port open to more than the ingress controller`);
          } else if (port.port === "ops") {
            if (!(rule.from ?? []).every(fromMonitoring))
              errors.push(`${at}: the operations port open to more than the monitoring namespace`);
          } else errors.push(`${at}: opens port ${String(port.port)}`);
        }
      }
    }
  }
  return errors;
}

/** Paths only the kubelet, Prometheus and sidecars may reach (every service serves some). */
export const PRIVATE_PATHS = [
  "/metrics",
  "/healthz",
  "/readyz",
  "/internal/tokens/introspect",
  "/dapr/subscribe",
];

/**
 * No Ingress path may route one of PRIVATE_PATHS to a service: a catch-all "/" would publish
 * /metrics and the sidecar-only routes to the internet.
 */
export function checkPrivatePathsHidden(objects: readonly K8sObject[]): string[] {
  const errors: string[] = [];
  const ingresses = ofKind<
    K8sObject & {
      spec: {
        rules: {
          http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] };
        }[];
      };
    }
  >(objects, "Ingress");
  for (const ingress of ingresses)
    for (const route of ingress.spec.rules.flatMap((r) => r.http.paths))
      for (const hidden of PRIVATE_PATHS) {
        const prefix = route.path.replace(/\/$/, "");
        const reaches =
          route.pathType === "Exact"
            ? route.path === hidden
            : hidden === prefix || hidden.startsWith(`${prefix}/`);
        if (reaches)
          errors.push(
            `Ingress/${ingress.metadata.name}: ${route.path} (${route.pathType}) publishes ${hidden} of ${route.backend.service.name}`,
          );
      }
  return errors;
}

/** The ConfigMap ingress-nginx's `proxy-set-headers` names (k8s/base/ingress-proxy-headers.yaml). */
export const INGRESS_PROXY_HEADERS = "taskmesh-ingress-proxy-headers";

/**
 * Every header name the services and packages use that only daprd or a taskmesh service may
 * send (string literals "dapr-..." and "x-taskmesh-..." in services/*\/src and packages/*\/src).
 */
export function internalHeaderNames(): string[] {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts"))
        for (const m of readFileSync(file, "utf8").matchAll(/["'`](dapr-[a-z-]+|x-taskmesh-[a-z-]+)["'`]/g))
          if (m[1]) names.add(m[1]);
    }
  };
  for (const root of ["services", "packages"])
    for (const entry of readdirSync(path.join(REPO_ROOT, root), { withFileTypes: true })) {
      const src = path.join(REPO_ROOT, root, entry.name, "src");
      if (entry.isDirectory() && existsSync(src)) walk(src);
    }
  return [...names].sort();
}

/**
 * The Ingress controller clears every internal header before proxying: the proxy-set-headers
 * ConfigMap is rendered, sets each of `headers` to "" (nginx then drops it), and sets nothing
 * else (a non-empty value would be sent to every backend).
 */
export function checkIngressClearsHeaders(
  objects: readonly K8sObject[],
  headers: readonly string[],
): string[] {
  const map = objects.find(
    (o): o is K8sObject & { data?: Record<string, string> } =>
      o.kind === "ConfigMap" && o.metadata.name === INGRESS_PROXY_HEADERS,
  );
  if (!map) return [`no ConfigMap ${INGRESS_PROXY_HEADERS} (ingress-nginx proxy-set-headers)`];
  const data = map.data ?? {};
  const errors: string[] = [];
  for (const header of headers)
    if (!(header in data)) errors.push(`ConfigMap/${INGRESS_PROXY_HEADERS}: does not clear ${header}`);
  for (const [name, value] of Object.entries(data))
    if (value !== "")
      errors.push(
        `ConfigMap/${INGRESS_PROXY_HEADERS}: sets ${name} to ${JSON.stringify(value)} instead of clearing it`,
      );
  return errors;
}
