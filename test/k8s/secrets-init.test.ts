/**
 * k8s/base/secrets-init/init-secrets.mjs (the taskmesh-secrets-init Job): what it creates from
 * the overlays' specs, what it leaves alone, and what it reports missing. The Kubernetes API
 * calls around this plan are exercised only in a cluster.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadNotificationsConfig } from "../../services/notifications/src/config.ts";
import { loadTaskApiConfig } from "../../services/task-api/src/config.ts";
import { REPO_ROOT } from "./manifest-checks.ts";

type Source =
  { random: number; encoding?: string } | { template: string } | { value: string } | { provided: string };
interface Spec {
  secrets: Record<string, Record<string, Source>>;
}
type Existing = Record<string, Record<string, string> | undefined>;
interface Plan {
  create: { name: string; data: Record<string, string> }[];
  patch: { name: string; data: Record<string, string> }[];
  missing: { secret: string; key: string; expected: string }[];
}
interface SecretsInit {
  mergeSpecs(documents: Spec[]): Spec;
  randomValue(source: Source): string;
  planSecrets(spec: Spec, existing: Existing, generate?: (s: Source) => string): Plan;
}

const read = (file: string): Spec =>
  JSON.parse(readFileSync(path.join(REPO_ROOT, "k8s", file), "utf8")) as Spec;
let init: SecretsInit;
let localSpec: Spec;
let productionSpec: Spec;

beforeAll(async () => {
  init = (await import(
    pathToFileURL(path.join(REPO_ROOT, "k8s/base/secrets-init/init-secrets.mjs")).href
  )) as SecretsInit;
  localSpec = init.mergeSpecs([read("base/secrets-init/base.json"), read("overlays/local/local.json")]);
  productionSpec = init.mergeSpecs([
    read("base/secrets-init/base.json"),
    read("overlays/production/production.json"),
  ]);
});

const nothing = (spec: Spec): Existing =>
  Object.fromEntries(Object.keys(spec.secrets).map((n) => [n, undefined]));
const dataOf = (plan: Plan, name: string) =>
  [...plan.create, ...plan.patch].find((p) => p.name === name)?.data;

describe("taskmesh-secrets-init", () => {
  it("when the local overlay starts from an empty namespace, then every Secret is created and the URLs carry the generated password", () => {
    const plan = init.planSecrets(localSpec, nothing(localSpec));
    expect(plan.missing).toEqual([]);
    expect(plan.patch).toEqual([]);
    expect(plan.create.map((c) => c.name).sort()).toEqual(Object.keys(localSpec.secrets).sort());
    const password = dataOf(plan, "taskmesh-postgres")?.POSTGRES_PASSWORD ?? "";
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(dataOf(plan, "taskmesh-db")?.DATABASE_URL).toBe(
      `postgres://taskmesh:${password}@postgres.taskmesh.svc.cluster.local:5432/taskmesh`,
    );
    expect(dataOf(plan, "taskmesh-dapr-state")?.STATE_DB_URL).toContain(`:${password}@`);
    expect(dataOf(plan, "taskmesh-kafka")?.brokers).toBe(
      "redpanda-0.redpanda.taskmesh.svc.cluster.local:9092",
    );
    const tokens = plan.create.filter((c) => c.name.endsWith("-token")).map((c) => c.data.token);
    expect(tokens).toHaveLength(10);
    expect(new Set(tokens).size).toBe(10);
  });

  it("when generated, then the app secrets satisfy the services' own configuration schemas", () => {
    const plan = init.planSecrets(localSpec, nothing(localSpec));
    const app = dataOf(plan, "taskmesh-app-secrets") ?? {};
    const db = dataOf(plan, "taskmesh-db")?.DATABASE_URL;
    expect(() =>
      loadTaskApiConfig({
        NODE_ENV: "production",
        BETTER_AUTH_SECRET: app.BETTER_AUTH_SECRET,
        APP_API_TOKEN: "t",
        DATABASE_URL: db,
      }),
    ).not.toThrow();
    expect(() =>
      loadNotificationsConfig({
        NODE_ENV: "production",
        WEBHOOK_SECRET_KEY: app.WEBHOOK_SECRET_KEY,
        DATABASE_URL: db,
        APP_API_TOKEN: "t",
        AUTH_ISSUER: "http://taskmesh.localhost",
      }),
    ).not.toThrow();
  });

  it("when the Secrets exist, then nothing is created or changed", () => {
    const first = init.planSecrets(localSpec, nothing(localSpec));
    const existing: Existing = Object.fromEntries(first.create.map((c) => [c.name, c.data]));
    expect(init.planSecrets(localSpec, existing)).toEqual({ create: [], patch: [], missing: [] });
  });

  it("when only the database password exists, then the URLs are built from it and the password is kept", () => {
    const existing: Existing = { ...nothing(localSpec), "taskmesh-postgres": { POSTGRES_PASSWORD: "kept" } };
    const plan = init.planSecrets(localSpec, existing);
    expect(plan.create.map((c) => c.name)).not.toContain("taskmesh-postgres");
    expect(dataOf(plan, "taskmesh-db")?.DATABASE_URL).toContain("taskmesh:kept@");
  });

  it("when a Secret lacks a key, then only that key is added", () => {
    const existing: Existing = {
      ...nothing(localSpec),
      "taskmesh-app-secrets": { BETTER_AUTH_SECRET: "mine" },
    };
    const plan = init.planSecrets(localSpec, existing);
    expect(plan.patch).toEqual([
      { name: "taskmesh-app-secrets", data: { WEBHOOK_SECRET_KEY: expect.any(String) as string } },
    ]);
  });

  it("when production's operator has not created its Secrets, then each missing key is reported with what belongs there", () => {
    const plan = init.planSecrets(productionSpec, nothing(productionSpec));
    expect(plan.missing.map((m) => `${m.secret}/${m.key}`).sort()).toEqual([
      "taskmesh-dapr-state/STATE_DB_URL",
      "taskmesh-db/DATABASE_URL",
      "taskmesh-kafka/brokers",
      "taskmesh-kafka/password",
      "taskmesh-kafka/username",
    ]);
    expect(plan.missing.find((m) => m.key === "DATABASE_URL")?.expected).toMatch(/^postgres:\/\//);
    // The random ones are still created: the apps need only what is missing.
    expect(plan.create.some((c) => c.name === "taskmesh-task-api-app-token")).toBe(true);
    expect(plan.create.some((c) => c.name === "taskmesh-db")).toBe(false);
  });

  it("when a template refers to itself, to an unknown key, or a random value is too short, then it fails saying which", () => {
    const selfRef: Spec = { secrets: { a: { x: { template: "{a/x}" } } } };
    expect(() => init.planSecrets(selfRef, { a: undefined })).toThrow("a/x refers to itself");
    const unknown: Spec = { secrets: { a: { x: { template: "{b/y}" } } } };
    expect(() => init.planSecrets(unknown, { a: undefined })).toThrow(
      "b/y is referenced but not in the spec",
    );
    expect(() => init.randomValue({ random: 8 })).toThrow("random: needs at least 16 bytes, got 8");
    expect(() => init.randomValue({ random: 32, encoding: "latin1" })).toThrow(
      "random: unknown encoding latin1",
    );
    expect(Buffer.from(init.randomValue({ random: 32, encoding: "base64" }), "base64")).toHaveLength(32);
  });

  it("when specs are merged, then a later file's definition of a key wins and other keys stay", () => {
    const merged = init.mergeSpecs([
      { secrets: { s: { a: { value: "1" }, b: { value: "2" } } } },
      { secrets: { s: { b: { value: "3" } }, t: { c: { value: "4" } } } },
    ]);
    expect(merged).toEqual({
      secrets: { s: { a: { value: "1" }, b: { value: "3" } }, t: { c: { value: "4" } } },
    });
  });
});
