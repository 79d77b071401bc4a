/**
 * k8s/base/secrets-init/init-secrets.mjs (the taskmesh-secrets-init Job): what it creates from
 * the overlays' specs, what it leaves alone, and what it reports missing; and the script itself
 * against an HTTPS stand-in for the Kubernetes API's Secret endpoints.
 */
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadNotificationsConfig } from "../../services/notifications/src/config.ts";
import { loadTaskApiConfig } from "../../services/task-api/src/config.ts";
import { createTestDatabase } from "../support/postgres.ts";
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

/** The keys production's operator creates ("secret/key"), sorted: what is missing before they do. */
const PRODUCTION_OPERATOR_KEYS = [
  "taskmesh-audit-log-db/DATABASE_URL",
  "taskmesh-dapr-state/STATE_DB_URL",
  "taskmesh-db/DATABASE_URL",
  "taskmesh-kafka/brokers",
  "taskmesh-kafka/password",
  "taskmesh-kafka/username",
  "taskmesh-notifications-db/DATABASE_URL",
  "taskmesh-notifications-state/NOTIFICATIONS_STATE_DB_URL",
  "taskmesh-recurring-tasks-state/RECURRING_TASKS_STATE_DB_URL",
  "taskmesh-task-api-db/DATABASE_URL",
];

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

  it("when production's operator has not created its Secrets, then each missing key is reported and nothing is created until they exist", () => {
    const plan = init.planSecrets(productionSpec, nothing(productionSpec));
    expect(plan.missing.map((m) => `${m.secret}/${m.key}`).sort()).toEqual(PRODUCTION_OPERATOR_KEYS);
    expect(plan.missing.find((m) => m.key === "DATABASE_URL")?.expected).toMatch(/^postgres:\/\//);
    // Not even the tokens: the pods wait for them, so none starts without the operator's Secrets.
    expect(plan.create).toEqual([]);
    expect(plan.patch).toEqual([]);
    const provided: Existing = {
      ...nothing(productionSpec),
      "taskmesh-db": { DATABASE_URL: "postgres://u:p@db/taskmesh" },
      "taskmesh-task-api-db": { DATABASE_URL: "postgres://t:p@db/taskmesh" },
      "taskmesh-audit-log-db": { DATABASE_URL: "postgres://a:p@db/taskmesh" },
      "taskmesh-notifications-db": { DATABASE_URL: "postgres://n:p@db/taskmesh" },
      "taskmesh-dapr-state": { STATE_DB_URL: "postgres://u:p@db/taskmesh_dapr" },
      "taskmesh-recurring-tasks-state": { RECURRING_TASKS_STATE_DB_URL: "postgres://r:p@db/taskmesh_dapr" },
      "taskmesh-notifications-state": { NOTIFICATIONS_STATE_DB_URL: "postgres://s:p@db/taskmesh_dapr" },
      "taskmesh-kafka": { brokers: "b:9092", username: "u", password: "p" },
    };
    const ready = init.planSecrets(productionSpec, provided);
    expect(ready.missing).toEqual([]);
    expect(ready.create.map((c) => c.name).slice(0, 1)).toEqual(["taskmesh-app-secrets"]);
    expect(ready.create.slice(1).every((c) => c.name.endsWith("-token"))).toBe(true);
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

describe("taskmesh-secrets-init against an API server", () => {
  interface Call {
    method: string;
    url: string;
    authorization: string | undefined;
    contentType: string | undefined;
    body: unknown;
  }
  let dir: string;
  let server: Server;
  let port: number;
  const stored = new Map<
    string,
    { metadata: { name: string; labels?: Record<string, string> }; data: Record<string, string> }
  >();
  const calls: Call[] = [];
  const b64 = (v: string) => Buffer.from(v).toString("base64");

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "secrets-init-"));
    // A self-signed certificate for 127.0.0.1, trusted through NODE_EXTRA_CA_CERTS like the cluster CA.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        path.join(dir, "key.pem"),
        "-out",
        path.join(dir, "ca.crt"),
      ],
      { stdio: "ignore" },
    );
    await mkdir(path.join(dir, "sa"));
    await writeFile(path.join(dir, "sa/token"), "sa-token\n");
    await writeFile(path.join(dir, "sa/namespace"), "taskmesh\n");
    server = createServer(
      { key: await readFile(path.join(dir, "key.pem")), cert: await readFile(path.join(dir, "ca.crt")) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const body = text
            ? (JSON.parse(text) as { metadata?: { name: string }; stringData?: Record<string, string> })
            : undefined;
          calls.push({
            method: req.method ?? "",
            url: req.url ?? "",
            authorization: req.headers.authorization,
            contentType: req.headers["content-type"],
            body,
          });
          const prefix = "/api/v1/namespaces/taskmesh/secrets";
          const name = (req.url ?? "").slice(prefix.length + 1);
          const answer = (status: number, value: unknown) => {
            res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
          };
          const existing = stored.get(name);
          if (!(req.url ?? "").startsWith(prefix) || req.headers.authorization !== "Bearer sa-token")
            answer(403, {});
          else if (req.method === "GET") answer(existing ? 200 : 404, existing ?? {});
          else if (req.method === "POST" && body?.metadata) {
            if (stored.has(body.metadata.name)) answer(409, {});
            else {
              const data = Object.fromEntries(
                Object.entries(body.stringData ?? {}).map(([k, v]) => [k, b64(v)]),
              );
              stored.set(body.metadata.name, { metadata: body.metadata, data });
              answer(201, {});
            }
          } else if (req.method === "PATCH" && existing) {
            for (const [k, v] of Object.entries(body?.stringData ?? {})) existing.data[k] = b64(v);
            answer(200, existing);
          } else answer(405, {});
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (
    specFiles: string[],
  ): Promise<{
    code: number | null;
    lines: { level: string; msg: string; secret?: string; key?: string }[];
  }> => {
    const specDir = await mkdtemp(path.join(dir, "spec-"));
    for (const f of specFiles)
      await writeFile(path.join(specDir, path.basename(f)), await readFile(path.join(REPO_ROOT, "k8s", f)));
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "k8s/base/secrets-init/init-secrets.mjs")], {
      env: {
        PATH: process.env.PATH,
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: String(port),
        SPEC_DIR: specDir,
        SERVICE_ACCOUNT_DIR: path.join(dir, "sa"),
        NODE_EXTRA_CA_CERTS: path.join(dir, "ca.crt"),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const [code] = (await once(child, "exit")) as [number | null];
    return {
      code,
      lines: out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: string; msg: string }),
    };
  };

  it("when run twice for the local overlay, then the first run creates every Secret over TLS with the service account's token and the second changes nothing", async () => {
    stored.clear();
    calls.length = 0;
    const first = await run(["base/secrets-init/base.json", "overlays/local/local.json"]);
    expect(first.code).toBe(0);
    expect([...stored.keys()].sort()).toEqual(Object.keys(localSpec.secrets).sort());
    const postgres = stored.get("taskmesh-postgres");
    expect(postgres?.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("taskmesh-secrets-init");
    const password = Buffer.from(postgres?.data.POSTGRES_PASSWORD ?? "", "base64").toString("utf8");
    expect(
      Buffer.from(stored.get("taskmesh-db")?.data.DATABASE_URL ?? "", "base64").toString("utf8"),
    ).toContain(`:${password}@`);
    expect(calls.every((c) => c.authorization === "Bearer sa-token")).toBe(true);
    const before = JSON.stringify([...stored]);
    calls.length = 0;
    const second = await run(["base/secrets-init/base.json", "overlays/local/local.json"]);
    expect(second.code).toBe(0);
    expect(calls.every((c) => c.method === "GET")).toBe(true);
    expect(JSON.stringify([...stored])).toBe(before);
  });

  it("when a key is missing from an existing Secret, then it is added by a strategic merge patch", async () => {
    stored.delete("taskmesh-app-secrets");
    stored.set("taskmesh-app-secrets", {
      metadata: { name: "taskmesh-app-secrets" },
      data: { BETTER_AUTH_SECRET: b64("mine-and-long-enough-to-be-a-secret!") },
    });
    calls.length = 0;
    const result = await run(["base/secrets-init/base.json", "overlays/local/local.json"]);
    expect(result.code).toBe(0);
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.contentType).toBe("application/strategic-merge-patch+json");
    expect(Object.keys((patch?.body as { stringData: object }).stringData)).toEqual(["WEBHOOK_SECRET_KEY"]);
    expect(
      Buffer.from(stored.get("taskmesh-app-secrets")?.data.BETTER_AUTH_SECRET ?? "", "base64").toString(),
    ).toBe("mine-and-long-enough-to-be-a-secret!");
  });

  it("when production's Secrets are missing, then it creates nothing, exits 1 and logs each missing key", async () => {
    stored.clear();
    calls.length = 0;
    const result = await run(["base/secrets-init/base.json", "overlays/production/production.json"]);
    expect(result.code).toBe(1);
    expect(stored.size).toBe(0);
    expect(
      result.lines
        .filter((l) => l.level === "error")
        .map((l) => `${l.secret ?? ""}/${l.key ?? ""}`)
        .sort(),
    ).toEqual(PRODUCTION_OPERATOR_KEYS);
  });
});

/**
 * Database roles in Kubernetes: the secrets-init spec hands each service and state store a login
 * of its own, the migrate Job's provision-roles step (as the Job runs it) creates those logins,
 * and no service is given the migration role's credential.
 */
describe("database logins in Kubernetes", () => {
  const yamlDocs = (file: string): Record<string, unknown>[] =>
    parseAllDocuments(readFileSync(path.join(REPO_ROOT, "k8s", file), "utf8")).map(
      (d) => d.toJS() as Record<string, unknown>,
    );
  interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }
  interface Container {
    name: string;
    command?: string[];
    env?: EnvVar[];
  }
  const podOf = (doc: Record<string, unknown>) =>
    (doc as { spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } } }).spec
      .template.spec;
  const secretRefs = (containers: Container[]): string[] =>
    containers.flatMap((c) =>
      (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])),
    );

  it("when the Deployments are read, then each service has its own database Secret and none the migration role's or the state owner's", () => {
    for (const app of ["task-api", "audit-log", "notifications", "recurring-tasks", "mcp-server"]) {
      const deployment = yamlDocs(`base/services/${app}.yaml`).find((d) => d.kind === "Deployment");
      expect(deployment, app).toBeDefined();
      const pod = podOf(deployment ?? {});
      const refs = secretRefs([...pod.containers, ...(pod.initContainers ?? [])]);
      expect(refs, app).not.toContain("taskmesh-db");
      expect(refs, app).not.toContain("taskmesh-dapr-state");
      const dbRefs = refs.filter((r) => r.endsWith("-db"));
      expect(dbRefs, app).toEqual(
        ["task-api", "audit-log", "notifications"].includes(app)
          ? [`taskmesh-${app}-db`, `taskmesh-${app}-db`]
          : [],
      );
    }
  });

  it("when the local overlay's Secrets are generated, then every login is a different role with its own password, none the owner", () => {
    const plan = init.planSecrets(localSpec, nothing(localSpec));
    const urls = [
      "taskmesh-task-api-db/DATABASE_URL",
      "taskmesh-audit-log-db/DATABASE_URL",
      "taskmesh-notifications-db/DATABASE_URL",
      "taskmesh-recurring-tasks-state/RECURRING_TASKS_STATE_DB_URL",
      "taskmesh-notifications-state/NOTIFICATIONS_STATE_DB_URL",
    ].map((ref) => {
      const [name, key] = ref.split("/") as [string, string];
      return new URL(dataOf(plan, name)?.[key] ?? "");
    });
    const owner = new URL(dataOf(plan, "taskmesh-db")?.DATABASE_URL ?? "");
    expect(new Set(urls.map((u) => u.username)).size).toBe(5);
    expect(new Set(urls.map((u) => u.password)).size).toBe(5);
    for (const u of urls) {
      expect(u.username).not.toBe(owner.username);
      expect(u.password).toMatch(/^[0-9a-f]{48}$/);
      expect(u.password).not.toBe(owner.password);
    }
    // Production: the operator provides each login; the Job fails naming any that is missing.
    const missing = init.planSecrets(productionSpec, nothing(productionSpec)).missing.map((m) => m.secret);
    for (const name of [
      "taskmesh-task-api-db",
      "taskmesh-audit-log-db",
      "taskmesh-notifications-db",
      "taskmesh-recurring-tasks-state",
      "taskmesh-notifications-state",
    ])
      expect(missing).toContain(name);
  });

  it("when the migrate Job's provision-roles step runs as the Job defines it, then each service connects as its own role, notifications cannot read sessions, and a second run changes nothing", async () => {
    const job = yamlDocs("base/migrate/job.yaml").find((d) => d.kind === "Job") ?? {};
    const pod = podOf(job);
    expect(pod.initContainers?.map((c) => c.name)).toEqual(["migrate"]);
    const step = pod.containers.find((c) => c.name === "provision-roles");
    expect(step?.command).toEqual(["node", "scripts/migrate/provision-roles.mjs"]);

    const [app, state] = await Promise.all([createTestDatabase(), createTestDatabase({ migrated: false })]);
    try {
      // The local overlay's Secrets, pointed at this test's server and databases; the owners are
      // the server's administrator (the in-cluster database's POSTGRES_USER).
      const plan = init.planSecrets(localSpec, nothing(localSpec));
      const retarget = (value: string, target: string): string => {
        const url = new URL(value);
        const to = new URL(target);
        url.host = to.host;
        url.pathname = to.pathname;
        url.search = "";
        return url.toString();
      };
      const secrets: Record<string, Record<string, string>> = {};
      for (const { name, data } of plan.create) secrets[name] = { ...data };
      secrets["taskmesh-db"] = { DATABASE_URL: app.connectionString };
      secrets["taskmesh-dapr-state"] = { STATE_DB_URL: state.connectionString };
      for (const name of ["taskmesh-task-api-db", "taskmesh-audit-log-db", "taskmesh-notifications-db"]) {
        const s = secrets[name] ?? {};
        s.DATABASE_URL = retarget(s.DATABASE_URL ?? "", app.connectionString);
      }
      for (const [name, key] of [
        ["taskmesh-recurring-tasks-state", "RECURRING_TASKS_STATE_DB_URL"],
        ["taskmesh-notifications-state", "NOTIFICATIONS_STATE_DB_URL"],
      ] as const) {
        const s = secrets[name] ?? {};
        s[key] = retarget(s[key] ?? "", state.connectionString);
      }
      const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
      for (const e of step?.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        const value = ref ? secrets[ref.name]?.[ref.key] : e.value;
        expect(value, e.name).toBeDefined();
        env[e.name] = value ?? "";
      }
      const run = (): string =>
        execFileSync(process.execPath, (step?.command ?? []).slice(1), {
          cwd: REPO_ROOT,
          env,
          encoding: "utf8",
        });
      expect(run()).toContain("service logins provisioned");
      expect(run()).toContain("state store logins provisioned");

      const query = async (url: string, sql: string): Promise<string> => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(sql);
          return "ok";
        } catch (error) {
          return (error as { code?: string }).code ?? String(error);
        } finally {
          await client.end();
        }
      };
      const notifications = secrets["taskmesh-notifications-db"]?.DATABASE_URL ?? "";
      const taskApi = secrets["taskmesh-task-api-db"]?.DATABASE_URL ?? "";
      expect(await query(notifications, "SELECT count(*) FROM webhooks")).toBe("ok");
      expect(await query(notifications, "SELECT count(*) FROM sessions")).toBe("42501");
      expect(await query(taskApi, "SELECT count(*) FROM sessions")).toBe("ok");
      expect(await query(taskApi, "CREATE TABLE evil (id int)")).toBe("42501");
      const recurring = secrets["taskmesh-recurring-tasks-state"]?.RECURRING_TASKS_STATE_DB_URL ?? "";
      expect(await query(recurring, "CREATE TABLE recurring_tasks_state (key text PRIMARY KEY)")).toBe("ok");
      expect(
        await query(
          secrets["taskmesh-notifications-state"]?.NOTIFICATIONS_STATE_DB_URL ?? "",
          "SELECT * FROM recurring_tasks_state.recurring_tasks_state",
        ),
      ).toBe("42501");
    } finally {
      await Promise.all([app.drop(), state.drop()]);
    }
  });
});
