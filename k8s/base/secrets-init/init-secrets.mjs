// The taskmesh-secrets-init Job (image taskmesh/migrate, which has Node): makes sure every
// Secret the manifests reference exists, so no Secret value is ever written in git.
//
// It reads every *.json in SPEC_DIR (default /etc/taskmesh/secrets-spec, the ConfigMap
// taskmesh-secrets-spec; files merged in name order, later ones win per Secret key):
//
//   { "secrets": { "<secret name>": { "<key>": <source>, ... }, ... } }
//
// where <source> is one of
//   { "random": <bytes>, "encoding": "hex" | "base64" | "base64url" }   generated once
//   { "template": "postgres://u:{taskmesh-postgres/POSTGRES_PASSWORD}@..." } other keys' values
//   { "value": "<not secret>" }                                           a fixed value
//   { "provided": "<what the operator puts there>" }                      must exist already
//
// A Secret or key that exists is never changed (values survive re-applies and upgrades); a
// missing one is created. When a `provided` key is missing the Job creates nothing, fails and
// says which and what to put there; the pods wait for their tokens until a later run succeeds. Runs with the pod's service
// account (Role taskmesh-secrets-init: create, and get/patch of the spec's Secrets only).
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

// The pod's service account (token, namespace); SERVICE_ACCOUNT_DIR is for tests.
const SERVICE_ACCOUNT = process.env.SERVICE_ACCOUNT_DIR ?? "/var/run/secrets/kubernetes.io/serviceaccount";
const MANAGED_BY = "taskmesh-secrets-init";

/** One JSON line per event, like the services' logs. */
function log(level, msg, fields = {}) {
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), name: MANAGED_BY, msg, ...fields })}\n`,
  );
}

/** Merges spec documents in order; a later document's definition of a Secret key replaces an earlier one. */
export function mergeSpecs(documents) {
  const secrets = {};
  for (const doc of documents) {
    for (const [name, keys] of Object.entries(doc.secrets ?? {})) {
      secrets[name] = { ...secrets[name], ...keys };
    }
  }
  return { secrets };
}

/** A fresh random value for a `random` source. */
export function randomValue(source) {
  const bytes = source.random;
  if (!Number.isInteger(bytes) || bytes < 16)
    throw new Error(`random: needs at least 16 bytes, got ${bytes}`);
  const encoding = source.encoding ?? "base64url";
  if (!["hex", "base64", "base64url"].includes(encoding))
    throw new Error(`random: unknown encoding ${encoding}`);
  return randomBytes(bytes).toString(encoding);
}

const REFERENCE = /\{([a-z0-9-]+)\/([A-Za-z0-9_.-]+)\}/g;

/**
 * What to do, given the Secrets that exist (name -> key -> value, or undefined when absent):
 * Secrets to create (the pods' tokens last), keys to add to existing Secrets, and `provided`
 * keys nobody has set (then nothing is created or added).
 * Pure apart from `generate`, which makes random values.
 */
export function planSecrets(spec, existing, generate = randomValue) {
  const values = {};
  for (const [name, data] of Object.entries(existing)) if (data) values[name] = { ...data };
  const missing = [];
  const added = {};
  const resolving = new Set();

  const resolve = (name, key) => {
    const have = values[name]?.[key];
    if (have !== undefined) return have;
    const source = spec.secrets[name]?.[key];
    if (!source) throw new Error(`${name}/${key} is referenced but not in the spec`);
    const id = `${name}/${key}`;
    if (resolving.has(id)) throw new Error(`${id} refers to itself`);
    resolving.add(id);
    let value;
    if ("provided" in source) {
      missing.push({ secret: name, key, expected: source.provided });
      value = undefined;
    } else if ("random" in source) value = generate(source);
    else if ("value" in source) value = String(source.value);
    else if ("template" in source) {
      let unresolved = false;
      value = source.template.replace(REFERENCE, (_, refName, refKey) => {
        const v = resolve(refName, refKey);
        if (v === undefined) unresolved = true;
        return v ?? "";
      });
      if (unresolved) value = undefined;
    } else throw new Error(`${id}: unknown source ${JSON.stringify(source)}`);
    resolving.delete(id);
    if (value !== undefined) {
      values[name] = { ...values[name], [key]: value };
      added[name] = { ...added[name], [key]: value };
    }
    return value;
  };

  for (const [name, keys] of Object.entries(spec.secrets))
    for (const key of Object.keys(keys)) resolve(name, key);
  const create = [];
  const patch = [];
  for (const [name, data] of Object.entries(added)) (existing[name] ? patch : create).push({ name, data });
  // A provided key can be reported twice (directly and through a template): once is enough.
  const unique = [...new Map(missing.map((m) => [`${m.secret}/${m.key}`, m])).values()];
  // Nothing is created until the operator's Secrets exist: the pods wait for the generated
  // tokens, so they never start with half their configuration. The tokens come last anyway.
  if (unique.length > 0) return { create: [], patch: [], missing: unique };
  create.sort((a, b) => Number(a.name.endsWith("-token")) - Number(b.name.endsWith("-token")));
  return { create, patch, missing: unique };
}

async function readSpec(dir) {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  if (files.length === 0) throw new Error(`no *.json spec in ${dir}`);
  return mergeSpecs(
    await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), "utf8")))),
  );
}

/** The Kubernetes API with this pod's service account (NODE_EXTRA_CA_CERTS trusts the cluster CA). */
async function kubernetesApi() {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new Error("KUBERNETES_SERVICE_HOST is not set: run this as a Kubernetes Job");
  const token = (await readFile(path.join(SERVICE_ACCOUNT, "token"), "utf8")).trim();
  const namespace = (await readFile(path.join(SERVICE_ACCOUNT, "namespace"), "utf8")).trim();
  const base = `https://${host.includes(":") ? `[${host}]` : host}:${port}/api/v1/namespaces/${namespace}/secrets`;
  const call = async (method, suffix, body, contentType = "application/json") => {
    const res = await fetch(`${base}${suffix}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: "application/json", "content-type": contentType },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    return res;
  };
  return { namespace, call };
}

const decode = (data = {}) =>
  Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));

async function main() {
  const spec = await readSpec(process.env.SPEC_DIR ?? "/etc/taskmesh/secrets-spec");
  const api = await kubernetesApi();
  const existing = {};
  for (const name of Object.keys(spec.secrets)) {
    const res = await api.call("GET", `/${name}`);
    if (res.status === 404) existing[name] = undefined;
    else if (res.ok) existing[name] = decode((await res.json()).data);
    else throw new Error(`GET secret ${name}: ${res.status} ${await res.text()}`);
  }
  const plan = planSecrets(spec, existing);
  for (const m of plan.missing) {
    log("error", "secret key must be created by the operator", {
      secret: m.secret,
      key: m.key,
      expected: m.expected,
      namespace: api.namespace,
    });
  }
  if (plan.missing.length > 0) process.exit(1);
  const labels = { "app.kubernetes.io/part-of": "taskmesh", "app.kubernetes.io/managed-by": MANAGED_BY };
  for (const { name, data } of plan.create) {
    const res = await api.call("POST", "", {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: { name, namespace: api.namespace, labels },
      stringData: data,
    });
    // Another run created it meanwhile: its values stand.
    if (res.status === 409) log("info", "secret already created", { secret: name });
    else if (!res.ok) throw new Error(`create secret ${name}: ${res.status} ${await res.text()}`);
    else log("info", "secret created", { secret: name, keys: Object.keys(data) });
  }
  for (const { name, data } of plan.patch) {
    const res = await api.call(
      "PATCH",
      `/${name}`,
      { stringData: data },
      "application/strategic-merge-patch+json",
    );
    if (!res.ok) throw new Error(`patch secret ${name}: ${res.status} ${await res.text()}`);
    log("info", "secret keys added", { secret: name, keys: Object.keys(data) });
  }
  log("info", "all secrets present", { secrets: Object.keys(spec.secrets).length });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    log("error", err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
