/**
 * k8s/base/dapr/ is generated from dapr-components/ (`npm run k8s:dapr`): the committed files
 * must be what the generator writes now, and the two forms must agree on names, topics, scopes
 * and metadata keys, differing only where scripts/k8s/dapr-resources.ts says they may.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  ENV_REF_SECRETS,
  KUBERNETES_DIR,
  KUBERNETES_SECRET_STORE,
  LOCAL_DIR,
  LOCAL_SECRET_STORE,
  NAMESPACE,
  OMITTED,
  SECRET_NAMES,
  renderKubernetesResources,
  toKubernetes,
} from "../../scripts/k8s/dapr-resources.ts";
import type { Resource } from "../support/dapr-resource.ts";

const id = (r: Resource): string => `${r.kind}/${r.metadata.name}`;

async function readForm(dir: string): Promise<Resource[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
  const out: Resource[] = [];
  for (const file of files)
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), "utf8")))
      out.push(doc.toJS() as Resource);
  return out;
}

interface Config {
  tracing: unknown;
  metrics: unknown;
  accessControl: { policies: { namespace?: string }[] };
  secrets: { scopes: { storeName: string }[] };
  nameResolution: { component: string };
}

/** Where the Kubernetes form departs from the local one beyond the documented transformations. */
function compareForms(local: readonly Resource[], kubernetes: readonly Resource[]): string[] {
  const errors: string[] = [];
  const k8s = new Map(kubernetes.map((r) => [id(r), r]));
  const expected = local.filter((r) => !(r.kind === "Component" && r.metadata.name in OMITTED));
  for (const name of Object.keys(OMITTED))
    if (!local.some((r) => r.kind === "Component" && r.metadata.name === name))
      errors.push(`OMITTED names ${name}, which dapr-components/ no longer has: remove the entry`);
  for (const extra of kubernetes.filter((r) => !expected.some((l) => id(l) === id(r))))
    errors.push(`${id(extra)}: only in the Kubernetes form`);
  const same = (what: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      errors.push(`${what}: ${JSON.stringify(b)} in Kubernetes, ${JSON.stringify(a)} locally`);
  };
  for (const l of expected) {
    const k = k8s.get(id(l));
    if (!k) {
      errors.push(`${id(l)}: missing from the Kubernetes form`);
      continue;
    }
    same(`${id(l)} apiVersion`, l.apiVersion, k.apiVersion);
    same(`${id(l)} scopes`, l.scopes, k.scopes);
    if (l.kind === "Component") {
      same(`${id(l)} type`, [l.spec.type, l.spec.version], [k.spec.type, k.spec.version]);
      const names = (r: Resource) => (r.spec.metadata ?? []).map((m) => m.name);
      same(`${id(l)} metadata keys`, names(l), names(k));
      for (const lm of l.spec.metadata ?? []) {
        const km = k.spec.metadata?.find((m) => m.name === lm.name);
        if (!km) continue;
        const at = `${id(l)} ${lm.name}`;
        if (lm.envRef !== undefined)
          same(at, { secretKeyRef: ENV_REF_SECRETS[lm.envRef] }, { secretKeyRef: km.secretKeyRef });
        else if (lm.secretKeyRef)
          same(at, { name: SECRET_NAMES[lm.secretKeyRef.name], key: lm.secretKeyRef.key }, km.secretKeyRef);
        else same(at, lm, km);
      }
      // A local envRef becomes a Secret reference, resolved by the built-in store like the rest.
      const store = (l.spec.metadata ?? []).some((m) => m.envRef) ? LOCAL_SECRET_STORE : l.auth?.secretStore;
      same(
        `${id(l)} auth.secretStore`,
        store === LOCAL_SECRET_STORE ? KUBERNETES_SECRET_STORE : store,
        k.auth?.secretStore,
      );
    } else if (l.kind === "Subscription") {
      same(`${id(l)} spec`, l.spec, k.spec);
    } else if (l.kind === "Resiliency") {
      const spec = l.spec as { targets: { components: Record<string, unknown> } };
      const components = Object.entries(spec.targets.components).filter(([name]) => !(name in OMITTED));
      const withoutOmitted = {
        ...spec,
        targets: { ...spec.targets, components: Object.fromEntries(components) },
      };
      same(`${id(l)} spec`, withoutOmitted, k.spec);
    } else if (l.kind === "Configuration") {
      const ls = l.spec as unknown as Config;
      const ks = k.spec as unknown as Config;
      same(`${id(l)} tracing`, ls.tracing, ks.tracing);
      same(`${id(l)} metrics`, ls.metrics, ks.metrics);
      same(
        `${id(l)} accessControl`,
        {
          ...ls.accessControl,
          policies: ls.accessControl.policies.map((p) => ({ ...p, namespace: NAMESPACE })),
        },
        ks.accessControl,
      );
      same(
        `${id(l)} secrets`,
        ls.secrets.scopes.map((s) => ({
          ...s,
          storeName: s.storeName === LOCAL_SECRET_STORE ? KUBERNETES_SECRET_STORE : s.storeName,
        })),
        ks.secrets.scopes,
      );
      same(`${id(l)} nameResolution`, "kubernetes", ks.nameResolution.component);
    } else same(`${id(l)} spec`, l.spec, k.spec);
  }
  return errors;
}

let local: Resource[];
let kubernetes: Resource[];

beforeAll(async () => {
  local = await readForm(LOCAL_DIR);
  kubernetes = await readForm(KUBERNETES_DIR);
});

describe("k8s/base/dapr", () => {
  it("when regenerated from dapr-components/, then it is byte for byte what is committed (run `npm run k8s:dapr`)", async () => {
    const rendered = await renderKubernetesResources();
    const committed = (await readdir(KUBERNETES_DIR)).sort();
    expect(committed).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered)
      expect(await readFile(path.join(KUBERNETES_DIR, file), "utf8"), `k8s/base/dapr/${file}`).toBe(text);
  });

  it("when compared with dapr-components/, then names, topics, scopes and metadata keys agree", () => {
    expect(compareForms(local, kubernetes)).toEqual([]);
    // The comparison covers every resource, and at least one of each kind.
    expect(new Set(kubernetes.map((r) => r.kind))).toEqual(
      new Set(["Component", "Configuration", "Resiliency", "Subscription"]),
    );
  });

  it("when its components are read, then secrets come from Kubernetes Secrets through the operator, never daprd's environment", () => {
    for (const r of kubernetes.filter((x) => x.kind === "Component")) {
      expect(r.spec.type, id(r)).not.toMatch(/^secretstores\.local\./);
      for (const m of r.spec.metadata ?? []) expect(m.envRef, `${id(r)} ${m.name}`).toBeUndefined();
      if ((r.spec.metadata ?? []).some((m) => m.secretKeyRef))
        expect(r.auth?.secretStore, id(r)).toBe(KUBERNETES_SECRET_STORE);
    }
  });

  it("when the Kubernetes form gains a resource, loses a topic, a scope or a metadata key, then each is named", () => {
    const broken = structuredClone(kubernetes);
    const sub = broken.find((r) => r.metadata.name === "notifications-reminders");
    if (sub) sub.spec.topic = "reminder";
    const pubsub = broken.find((r) => r.metadata.name === "taskmesh-pubsub");
    if (pubsub) {
      pubsub.scopes = pubsub.scopes?.filter((s) => s !== "audit-log");
      pubsub.spec.metadata = pubsub.spec.metadata?.filter((m) => m.name !== "initialOffset");
    }
    broken.push({ apiVersion: "dapr.io/v1alpha1", kind: "Component", metadata: { name: "extra" }, spec: {} });
    const errors = compareForms(local, broken);
    expect(errors).toContain("Component/extra: only in the Kubernetes form");
    expect(
      errors.some(
        (e) => e.startsWith("Subscription/notifications-reminders spec") && e.includes('"reminder"'),
      ),
    ).toBe(true);
    expect(errors.some((e) => e.startsWith("Component/taskmesh-pubsub scopes"))).toBe(true);
    expect(errors.some((e) => e.startsWith("Component/taskmesh-pubsub metadata keys"))).toBe(true);
    expect(errors).toHaveLength(4);
  });

  it("when a local component reads an environment variable or secret the generator cannot map, then generation fails saying which", () => {
    const component = (item: string) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: x
spec:
  type: state.postgresql
  version: v2
  metadata:
    - name: connectionString
${item}
auth:
  secretStore: ${LOCAL_SECRET_STORE}
scopes: [audit-log]
`;
    expect(() => toKubernetes("x.yaml", component("      envRef: SOME_URL"))).toThrow(
      "x.yaml: connectionString reads envRef SOME_URL, which has no Kubernetes Secret",
    );
    expect(() =>
      toKubernetes("x.yaml", component("      secretKeyRef:\n        name: OTHER\n        key: OTHER")),
    ).toThrow("x.yaml: connectionString refers to secret OTHER, which has no Kubernetes Secret name");
  });

  it("when a component is omitted, then dapr-components/ still has it (the list is not stale)", () => {
    for (const name of Object.keys(OMITTED))
      expect(
        local.some((r) => r.kind === "Component" && r.metadata.name === name),
        name,
      ).toBe(true);
    expect(kubernetes.some((r) => r.metadata.name in OMITTED)).toBe(false);
  });
});
