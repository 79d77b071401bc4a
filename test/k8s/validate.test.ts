/**
 * The offline manifest validator (scripts/k8s/validate.ts) with the real schemas: the targeted
 * Kubernetes release's OpenAPI and Dapr's CRDs, provisioned by scripts/k8s/schemas.sh (and
 * kustomize by scripts/k8s/kustomize.sh) in test/support/k8s-global-setup.ts. Valid objects
 * come from a small kustomization rendered by the pinned kustomize; each negative case breaks
 * one of them and expects the error a user would need to fix it.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  listOverlays,
  loadValidator,
  OVERLAYS_DIR,
  REPO_ROOT,
  renderKustomization,
  renderOverlay,
  validateObjects,
} from "../../scripts/k8s/validate.ts";

type Obj = Record<string, unknown>;

const FIXTURE = path.join(import.meta.dirname, "fixtures", "minimal");

let rendered: Obj[];

beforeAll(async () => {
  rendered = (await renderKustomization(FIXTURE)) as Obj[];
});

/** A deep copy of the rendered fixture object of that kind (and apiVersion). */
function fixture(kind: string, apiVersion?: string): Obj {
  const found = rendered.find(
    (o) => o.kind === kind && (apiVersion === undefined || o.apiVersion === apiVersion),
  );
  if (!found) throw new Error(`no ${kind} in the fixture`);
  return structuredClone(found);
}

/** "spec.containers[0].name" -> ["spec", "containers", "0", "name"]; ["a.b/c"] quotes a key. */
function segments(fieldPath: string): string[] {
  return [...fieldPath.matchAll(/\["([^"]+)"\]|\[(\d+)\]|([^.[\]]+)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? "",
  );
}

function get(object: unknown, fieldPath: string): unknown {
  let cur = object;
  for (const seg of segments(fieldPath)) {
    if (cur === null || typeof cur !== "object") throw new Error(`${fieldPath}: no ${seg}`);
    cur = (cur as Obj)[seg];
  }
  return cur;
}

/** The object or array holding the last segment of the path, and that segment. */
function parentOf(object: unknown, fieldPath: string): [Obj, string] {
  const segs = segments(fieldPath);
  const last = segs.pop() ?? "";
  const parent = segs.length > 0 ? get(object, segs.map((s) => `["${s}"]`).join("")) : object;
  if (parent === null || typeof parent !== "object") throw new Error(`${fieldPath}: no parent`);
  return [parent as Obj, last];
}

function set(object: unknown, fieldPath: string, value: unknown): void {
  const [parent, key] = parentOf(object, fieldPath);
  parent[key] = value;
}

function remove(object: unknown, fieldPath: string): void {
  const [parent, key] = parentOf(object, fieldPath);
  Reflect.deleteProperty(parent, key);
}

function push(object: unknown, fieldPath: string, value: unknown): void {
  const list = get(object, fieldPath);
  if (!Array.isArray(list)) throw new Error(`${fieldPath} is not a list`);
  list.push(value);
}

async function errorsOf(object: object): Promise<string[]> {
  const [result] = await validateObjects([object]);
  if (!result) throw new Error("validateObjects returned no result");
  return result.errors;
}

describe("rendering", () => {
  it("when a kustomization is built, then kustomize's namespace, labels and image tag are applied", () => {
    expect(rendered.map((o) => `${String(o.kind)}/${String(get(o, "metadata.name"))}`).sort()).toEqual([
      "Component/pubsub",
      "Configuration/app-config",
      "Deployment/app",
      "PodDisruptionBudget/app",
      "Resiliency/resiliency",
      "Service/app",
      "Subscription/task-events",
    ]);
    const deployment = fixture("Deployment");
    expect(get(deployment, "metadata.namespace")).toBe("fixture");
    expect(get(deployment, "metadata.labels")).toEqual({ "app.kubernetes.io/part-of": "fixture" });
    expect(get(deployment, "spec.template.spec.containers[0].image")).toBe("fixture/app:1.2.3");
  });

  it("when the kustomization does not exist, then rendering fails with kustomize's message", async () => {
    await expect(renderKustomization(path.join(FIXTURE, "missing"))).rejects.toThrow(
      /kustomize build .* failed/,
    );
  });

  it("when an overlay name is a path, then it is refused", async () => {
    await expect(renderOverlay("../base")).rejects.toThrow(/invalid overlay name/);
  });
});

describe("valid objects", () => {
  it("when the fixture's Deployment, Service, PDB and Dapr resources are validated, then none has an error", async () => {
    const results = await validateObjects(rendered);
    expect(results).toHaveLength(rendered.length);
    expect(results.filter((r) => r.errors.length > 0)).toEqual([]);
    expect(results.map((r) => r.object)).toContain("Deployment/fixture/app");
    expect(results.map((r) => r.object)).toContain("Subscription/fixture/task-events");
  });

  it("when an int-or-string field holds a name or a number, then both pass", async () => {
    const service = fixture("Service");
    set(service, "spec.ports[0].targetPort", 3000);
    expect(await errorsOf(service)).toEqual([]);
    set(service, "spec.ports[0].targetPort", "http");
    expect(await errorsOf(service)).toEqual([]);
  });

  it("when a quantity is a plain number or a suffixed string, then it passes", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "spec.template.spec.containers[0].resources.limits", { cpu: 0.5, memory: "1Gi" });
    set(deployment, "spec.template.spec.containers[0].resources.requests", { cpu: "250m", memory: "1e3" });
    expect(await errorsOf(deployment)).toEqual([]);
  });

  it("when a Dapr metadata value is an object (x-kubernetes-preserve-unknown-fields), then it passes", async () => {
    const component = fixture("Component");
    push(component, "spec.metadata", { name: "structured", value: { nested: [1, "two"] } });
    expect(await errorsOf(component)).toEqual([]);
  });
});

describe("Kubernetes objects that the API server would reject", () => {
  it("when a container has an unknown field, then the error names it with its path", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "spec.template.spec.containers[0].imagePullPolicyy", "Always");
    expect(await errorsOf(deployment)).toEqual([
      'spec.template.spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy"',
    ]);
  });

  it("when a field has the wrong type, then the error says what was expected and what was found", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "spec.replicas", "2");
    set(deployment, 'spec.template.metadata.annotations["dapr.io/app-port"]', 3000);
    expect(await errorsOf(deployment)).toEqual([
      'spec.replicas: must be integer, got string "2"',
      'spec.template.metadata.annotations["dapr.io/app-port"]: must be string, got number 3000',
    ]);
  });

  it("when required fields are missing, then each is named", async () => {
    const deployment = fixture("Deployment");
    remove(deployment, "spec.selector");
    remove(deployment, "spec.template.spec.containers[0].name");
    expect(await errorsOf(deployment)).toEqual([
      'spec.selector: missing required field "selector"',
      'spec.template.spec.containers[0].name: missing required field "name"',
    ]);
  });

  it("when a value is outside an enum, then the supported values are listed", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "spec.template.spec.containers[0].imagePullPolicy", "Sometimes");
    const service = fixture("Service");
    set(service, "spec.type", "clusterIP");
    expect(await errorsOf(deployment)).toEqual([
      'spec.template.spec.containers[0].imagePullPolicy: unsupported value "Sometimes"; supported values: "Always", "IfNotPresent", "Never"',
    ]);
    expect(await errorsOf(service)).toEqual([
      'spec.type: unsupported value "clusterIP"; supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ]);
  });

  it("when an int-or-string holds neither, then the error says so once", async () => {
    const service = fixture("Service");
    set(service, "spec.ports[0].targetPort", 80.5);
    expect(await errorsOf(service)).toEqual([
      "spec.ports[0].targetPort: must be integer or string, got number 80.5",
    ]);
  });

  it("when a resource quantity is malformed, then it is rejected", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "spec.template.spec.containers[0].resources.limits.memory", "256 MB");
    expect(await errorsOf(deployment)).toEqual([
      'spec.template.spec.containers[0].resources.limits.memory: must be a quantity string (e.g. "250m", "128Mi") or number, got string "256 MB"',
    ]);
  });

  it("when a list-map has two entries with the same key, then the duplicate is reported (defaults applied)", async () => {
    const deployment = fixture("Deployment");
    push(deployment, "spec.template.spec.containers[0].env", { name: "PORT", value: "4000" });
    push(deployment, "spec.template.spec.containers[0].ports", {
      name: "again",
      containerPort: 3000,
      protocol: "TCP",
    });
    expect(await errorsOf(deployment)).toEqual([
      'spec.template.spec.containers[0].env: duplicate entries for key [name="PORT"] (items 0 and 2)',
      'spec.template.spec.containers[0].ports: duplicate entries for key [containerPort=3000, protocol="TCP"] (items 0 and 1)',
    ]);
  });

  it("when a field is null, then it is rejected rather than silently dropped", async () => {
    const service = fixture("Service");
    set(service, "spec.selector", null);
    expect(await errorsOf(service)).toEqual([
      "spec.selector: null is not allowed here (remove the field or give it a value)",
    ]);
  });

  it("when a Secret's data is not base64, then it is rejected (stringData takes plain text)", async () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, type: "Opaque" };
    expect(
      await errorsOf({ ...secret, data: { url: "cG9zdGdyZXM6Ly8=" }, stringData: { raw: "postgres://" } }),
    ).toEqual([]);
    expect(await errorsOf({ ...secret, data: { url: "postgres://x" } })).toEqual([
      'data.url: "postgres://x" is not base64 (put plain text in stringData)',
    ]);
  });

  it("when metadata has an unknown field or no name, then that is an error", async () => {
    const service = fixture("Service");
    set(service, "metadata.label", { a: "b" });
    remove(service, "metadata.name");
    expect(await errorsOf(service)).toEqual([
      "metadata.name: missing (kubectl apply needs a name)",
      'metadata.label: unknown field "label"',
    ]);
  });
});

describe("kinds without a schema", () => {
  it("when a kind is unknown, then it is an error, not a pass", async () => {
    const [widget] = await validateObjects([{ apiVersion: "v1", kind: "Widget", metadata: { name: "w" } }]);
    expect(widget?.errors).toEqual([
      expect.stringMatching(
        /^apiVersion\/kind: no schema for v1 Widget in Kubernetes v\d+\.\d+\.\d+ or Dapr v1\.18\.\d+$/,
      ),
    ]);
  });

  it("when a known kind uses an API version that is not served, then the served ones are suggested", async () => {
    const deployment = fixture("Deployment");
    set(deployment, "apiVersion", "apps/v1beta1");
    const component = fixture("Component");
    set(component, "apiVersion", "dapr.io/v2alpha1");
    expect(await errorsOf(deployment)).toEqual([
      expect.stringMatching(/no schema for apps\/v1beta1 Deployment .*; Deployment is served as apps\/v1$/),
    ]);
    expect(await errorsOf(component)).toEqual([
      expect.stringMatching(
        /no schema for dapr.io\/v2alpha1 Component .*; Component is served as dapr.io\/v1alpha1$/,
      ),
    ]);
  });

  it("when apiVersion and kind are missing, then both are reported", async () => {
    expect(await errorsOf({ metadata: { name: "x" } })).toEqual(["apiVersion: missing", "kind: missing"]);
  });
});

describe("Dapr objects that the API server would reject (CRD schemas)", () => {
  it("when a Component's spec has a misspelt field, then it is unknown and the required one is missing", async () => {
    const component = fixture("Component");
    set(component, "spec.metdata", get(component, "spec.metadata"));
    remove(component, "spec.metadata");
    expect(await errorsOf(component)).toEqual([
      'spec.metadata: missing required field "metadata"',
      'spec.metdata: unknown field "metdata"',
    ]);
  });

  it("when a Component metadata item has an unknown field or a secretKeyRef without a name, then both are reported", async () => {
    const component = fixture("Component");
    set(component, "spec.metadata[0].valeu", "x");
    remove(component, "spec.metadata[2].secretKeyRef.name");
    expect(await errorsOf(component)).toEqual([
      'spec.metadata[0].valeu: unknown field "valeu"',
      'spec.metadata[2].secretKeyRef.name: missing required field "name"',
    ]);
  });

  it("when a v2alpha1 Subscription has no routes, or the v1alpha1 `route` field, then it is rejected", async () => {
    const subscription = fixture("Subscription", "dapr.io/v2alpha1");
    remove(subscription, "spec.routes");
    set(subscription, "spec.route", "/events/tasks");
    expect(await errorsOf(subscription)).toEqual([
      'spec.routes: missing required field "routes"',
      'spec.route: unknown field "route"',
    ]);
  });

  it("when a Configuration enables mTLS without the control plane's trust domain and Sentry address, then the CRD requires them", async () => {
    const configuration = fixture("Configuration");
    set(configuration, "spec.mtls", { enabled: true });
    expect(await errorsOf(configuration)).toEqual([
      'spec.mtls.controlPlaneTrustDomain: missing required field "controlPlaneTrustDomain"',
      'spec.mtls.sentryAddress: missing required field "sentryAddress"',
    ]);
  });

  it("when a value is outside an enum of a CRD, then the supported values are listed", async () => {
    const configuration = fixture("Configuration");
    set(configuration, "spec.mtls.tokenValidators", [{ name: "oidc" }]);
    expect(await errorsOf(configuration)).toEqual([
      'spec.mtls.tokenValidators[0].name: unsupported value "oidc"; supported values: "jwks"',
    ]);
  });

  it("when a Dapr object's metadata has an unknown field, then it is checked as ObjectMeta", async () => {
    const resiliency = fixture("Resiliency");
    set(resiliency, "metadata.annotation", { a: "b" });
    set(resiliency, "spec.policies.retries.pubsubRetry.maxRetries", "five");
    expect(await errorsOf(resiliency)).toEqual([
      'metadata.annotation: unknown field "annotation"',
      'spec.policies.retries.pubsubRetry.maxRetries: must be integer, got string "five"',
    ]);
  });
});

describe("the schemas", () => {
  it("when loaded, then they are the pinned releases and every generated enum found its field", async () => {
    const { registry } = await loadValidator();
    const daprGoMod = await readFile(path.join(REPO_ROOT, "scripts", "daprd", "go.mod"), "utf8");
    const schemasScript = await readFile(path.join(REPO_ROOT, "scripts", "k8s", "schemas.sh"), "utf8");
    expect(daprGoMod).toContain(`github.com/dapr/dapr ${registry.versions.dapr}\n`);
    expect(schemasScript).toContain(`kubernetes_version=${registry.versions.kubernetes}\n`);
    expect(registry.enums.unmatched).toEqual([]);
    expect(registry.enums.applied).toBeGreaterThan(50);
    for (const kind of [
      "v1/Service",
      "apps/v1/Deployment",
      "dapr.io/v1alpha1/Component",
      "dapr.io/v2alpha1/Subscription",
    ]) {
      expect(registry.kinds.has(kind)).toBe(true);
    }
  });
});

describe("npm run k8s:validate", () => {
  it("when a kustomization has errors, then each is printed with kind/name and path, and the exit code is 1", async () => {
    const run = await runCli(["test/k8s/fixtures/broken", "test/k8s/fixtures/minimal"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^k8s:validate: Kubernetes v\d+\.\d+\.\d+, Dapr v1\.18\.\d+, kustomize /m);
    expect(run.stdout).toContain("test/k8s/fixtures/broken: 7 objects (");
    expect(run.stdout).toContain("; 2 errors in 2 objects\n");
    expect(run.stdout).toContain(
      '  Deployment/fixture/app: spec.template.spec.containers[0].imagePullPolicyy: unknown field "imagePullPolicyy"\n',
    );
    expect(run.stdout).toContain(
      '  Subscription/fixture/task-events: spec.routes: missing required field "routes"\n',
    );
    expect(run.stdout).toMatch(/^test\/k8s\/fixtures\/minimal: 7 objects \(.*\); 0 errors$/m);
  });

  it("when every kustomization is valid, then the exit code is 0", async () => {
    const run = await runCli(["test/k8s/fixtures/minimal"]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain("; 0 errors");
  });

  it("when an overlay cannot be rendered, then kustomize's error is printed and the exit code is 1", async () => {
    const run = await runCli(["no-such-overlay"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("no-such-overlay: render failed");
    expect(run.stdout).toContain("kustomize build k8s/overlays/no-such-overlay failed");
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(REPO_ROOT, "scripts", "k8s", "validate-overlays.ts"), ...args],
      { cwd: REPO_ROOT },
      (error, stdout, stderr) => {
        if (!error) resolve({ code: 0, stdout, stderr });
        else if (typeof error.code === "number") resolve({ code: error.code, stdout, stderr });
        else reject(new Error(`validate-overlays.ts did not run: ${error.message}`));
      },
    );
  });
}

// The real manifests (k8s/overlays/<name>, written alongside this validator): each overlay must
// render and validate without a single error.
const overlays = await listOverlays();

describe("k8s/overlays", () => {
  it.skipIf(!existsSync(OVERLAYS_DIR))("when k8s/overlays exists, then it holds at least one overlay", () => {
    expect(overlays.length).toBeGreaterThan(0);
  });

  for (const overlay of overlays) {
    it(`when overlay ${overlay} is rendered, then every object validates`, async () => {
      const objects = await renderOverlay(overlay);
      expect(objects.length).toBeGreaterThan(0);
      const invalid = (await validateObjects(objects)).filter((r) => r.errors.length > 0);
      expect(invalid).toEqual([]);
    });
  }
});
