/**
 * Static checks of dapr-components/ and dapr.yaml against the contracts: names, scopes,
 * subscriptions and topic permissions agree with packages/contracts and its AsyncAPI document,
 * and no secret is written inline. That daprd really loads these files is checked by running
 * it (see dapr-components/README.md); this keeps them from drifting in between.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  buildAsyncApiDocument,
  DEAD_LETTER_TOPICS,
  PUBSUB_NAME,
  TOPICS,
  type Topic,
} from "@taskmesh/contracts";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { MetadataItem, Resource } from "../support/dapr-resource.ts";

const root = path.resolve(import.meta.dirname, "../..");
const componentsDir = path.join(root, "dapr-components");

const APP_PORTS = {
  "task-api": 3000,
  "mcp-server": 3001,
  notifications: 3002,
  "audit-log": 3003,
  "recurring-tasks": 3004,
} as const;
const APP_IDS = Object.keys(APP_PORTS);

interface Component extends Resource {
  spec: { type: string; version: string; metadata?: MetadataItem[] };
}

interface Subscription extends Resource {
  spec: {
    pubsubname: string;
    topic: string;
    routes: { default?: string; rules?: unknown[] };
    deadLetterTopic?: string;
  };
}

const resources: (Resource & { file: string })[] = [];
const components = (): (Component & { file: string })[] =>
  resources.filter((r) => r.kind === "Component") as (Component & { file: string })[];
const subscriptions = (): Subscription[] =>
  resources.filter((r) => r.kind === "Subscription") as unknown as Subscription[];
const one = (kind: string): Resource => {
  const found = resources.filter((r) => r.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Resource;
};
const meta = (c: Component, name: string): MetadataItem | undefined =>
  c.spec.metadata?.find((m) => m.name === name);
const scopeMap = (value: unknown): Map<string, string[]> =>
  new Map(
    String(value)
      .split(";")
      .map((entry) => entry.split("="))
      .map(([app, topics]) => [app ?? "", (topics ?? "").split(",").filter(Boolean)]),
  );

beforeAll(async () => {
  const files = (await readdir(componentsDir)).filter((f) => f.endsWith(".yaml")).sort();
  for (const file of files) {
    const docs = parseAllDocuments(await readFile(path.join(componentsDir, file), "utf8"));
    for (const doc of docs) {
      expect(doc.errors, file).toEqual([]);
      resources.push({ ...(doc.toJS() as Resource), file });
    }
  }
});

describe("dapr-components/", () => {
  it("when loaded, then it holds the expected resources and nothing else", () => {
    const summary = resources.map((r) => `${r.file}: ${r.kind} ${r.metadata.name}`);
    expect(summary).toEqual([
      "configuration.yaml: Configuration taskmesh",
      "cron.yaml: Component reminders-cron",
      "pubsub.yaml: Component taskmesh-pubsub",
      "resiliency.yaml: Resiliency taskmesh",
      "secretstore.yaml: Component taskmesh-secrets",
      "statestore.yaml: Component recurring-tasks-state",
      "statestore.yaml: Component notifications-state",
      "subscriptions.yaml: Subscription audit-log-task-events",
      "subscriptions.yaml: Subscription recurring-tasks-task-events",
      "subscriptions.yaml: Subscription notifications-task-events",
      "subscriptions.yaml: Subscription notifications-reminders",
      "subscriptions.yaml: Subscription audit-log-user-events",
      "subscriptions.yaml: Subscription notifications-user-events",
    ]);
    // daprd refuses duplicate names even when scopes do not overlap.
    const names = resources.map((r) => `${r.kind}/${r.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it("when a component or subscription is read, then it is scoped to known app ids", () => {
    for (const r of [...components(), ...subscriptions()]) {
      expect(r.scopes?.length, r.metadata.name).toBeGreaterThan(0);
      for (const app of r.scopes ?? []) expect(APP_IDS, `${r.metadata.name}: ${app}`).toContain(app);
    }
  });

  it("when metadata looks secret, then it comes from a secret store, never inline", () => {
    const sensitive = /password|secret|token|connectionstring|clientkey|apikey|credential/i;
    for (const c of components()) {
      for (const item of c.spec.metadata ?? []) {
        if (sensitive.test(item.name)) {
          expect(item.value, `${c.metadata.name}.${item.name}`).toBeUndefined();
          expect(item.secretKeyRef?.name, `${c.metadata.name}.${item.name}`).toBeTruthy();
        }
        if (typeof item.value === "string") {
          expect(item.value, `${c.metadata.name}.${item.name}`).not.toMatch(/:\/\/[^/\s]*:[^@\s]*@/);
        }
      }
    }
  });

  it("when a component references secrets, then its secret store is loaded for every app it is loaded for", () => {
    const stores = new Map(
      components()
        .filter((c) => c.spec.type.startsWith("secretstores."))
        .map((c) => [c.metadata.name, c.scopes ?? []]),
    );
    for (const c of components()) {
      if (!(c.spec.metadata ?? []).some((m) => m.secretKeyRef)) continue;
      const store = c.auth?.secretStore;
      expect(store && stores.has(store), `${c.metadata.name} auth.secretStore`).toBe(true);
      for (const app of c.scopes ?? [])
        expect(stores.get(store ?? ""), `${c.metadata.name}: ${app}`).toContain(app);
    }
  });

  it("when the pub/sub component is read, then it is the contracts' pubsub.kafka with per-app consumer groups", () => {
    const [pubsub, ...others] = components().filter((c) => c.spec.type.startsWith("pubsub."));
    expect(others).toEqual([]);
    expect(pubsub?.metadata.name).toBe(PUBSUB_NAME);
    expect(pubsub?.spec.type).toBe("pubsub.kafka");
    if (!pubsub) return;
    expect(meta(pubsub, "brokers")?.envRef).toBe("KAFKA_BROKERS");
    expect(meta(pubsub, "authType")?.value).toBe("none");
    expect(meta(pubsub, "consumerGroup")?.value).toBe("{appID}");
    expect(meta(pubsub, "initialOffset")?.value).toBe("oldest");
    expect(String(meta(pubsub, "clientID")?.value)).toContain("{appID}");
    expect(Number(meta(pubsub, "maxMessageBytes")?.value)).toBeGreaterThanOrEqual(256 * 1024);
    const topics = Object.values(TOPICS).flatMap((t) => [t, DEAD_LETTER_TOPICS[t]]);
    expect(String(meta(pubsub, "allowedTopics")?.value).split(",").sort()).toEqual(topics.sort());
  });

  it("when topic permissions are read, then they match the AsyncAPI operations (plus each consumer's dead letters)", () => {
    const pubsub = components().find((c) => c.metadata.name === PUBSUB_NAME) as Component;
    const publishing = scopeMap(meta(pubsub, "publishingScopes")?.value);
    const subscribing = scopeMap(meta(pubsub, "subscriptionScopes")?.value);
    const expectedPublishing = new Map<string, Set<string>>();
    const expectedSubscribing = new Map<string, Set<string>>();
    const add = (m: Map<string, Set<string>>, app: string, topic: string) => {
      m.set(app, (m.get(app) ?? new Set()).add(topic));
    };
    for (const op of Object.values(buildAsyncApiDocument().operations)) {
      const topic = op.channel.$ref.replace("#/channels/", "") as Topic;
      const app = op["x-dapr-app-id"];
      if (op.action === "send") add(expectedPublishing, app, topic);
      else {
        add(expectedSubscribing, app, topic);
        // The consumer's sidecar publishes what it gives up on to the dead-letter topic.
        add(expectedPublishing, app, DEAD_LETTER_TOPICS[topic]);
      }
    }
    for (const app of pubsub.scopes ?? []) {
      expect([...(publishing.get(app) ?? [])].sort(), `publishingScopes ${app}`).toEqual(
        [...(expectedPublishing.get(app) ?? [])].sort(),
      );
      expect([...(subscribing.get(app) ?? [])].sort(), `subscriptionScopes ${app}`).toEqual(
        [...(expectedSubscribing.get(app) ?? [])].sort(),
      );
    }
  });

  it("when subscriptions are read, then each receiving operation has one, with the topic's dead-letter topic", () => {
    const receives = Object.values(buildAsyncApiDocument().operations)
      .filter((op) => op.action === "receive")
      .map((op) => `${op["x-dapr-app-id"]} ${op.channel.$ref.replace("#/channels/", "")}`)
      .sort();
    const subs = subscriptions();
    expect(subs.map((s) => `${s.scopes?.join(",") ?? ""} ${s.spec.topic}`).sort()).toEqual(receives);
    for (const s of subs) {
      expect(s.apiVersion).toBe("dapr.io/v2alpha1");
      expect(s.spec.pubsubname).toBe(PUBSUB_NAME);
      expect(s.spec.deadLetterTopic).toBe(DEAD_LETTER_TOPICS[s.spec.topic as Topic]);
      // A rule that does not match sends the event to the dead-letter topic in daprd 1.18.
      expect(s.spec.routes.rules, s.metadata.name).toBeUndefined();
      expect(s.spec.routes.default, s.metadata.name).toMatch(/^\/events\//);
    }
  });

  it("when state stores are read, then each is postgresql v2 for one app with its own table prefix", () => {
    const stores = components().filter((c) => c.spec.type === "state.postgresql");
    expect(stores.length).toBeGreaterThan(0);
    const prefixes = new Set<string>();
    for (const s of stores) {
      expect(s.spec.version, s.metadata.name).toBe("v2");
      expect(s.scopes, s.metadata.name).toHaveLength(1);
      expect(s.metadata.name).toBe(`${s.scopes?.[0] ?? ""}-state`);
      const prefix = String(meta(s, "tablePrefix")?.value);
      // Pasted into SQL unquoted by the component.
      expect(prefix, s.metadata.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      prefixes.add(prefix);
    }
    expect(prefixes.size).toBe(stores.length);
  });

  it("when the cron binding is read, then it is an input binding for notifications only", () => {
    const cron = components().find((c) => c.spec.type === "bindings.cron") as Component;
    expect(cron.scopes).toEqual(["notifications"]);
    expect(meta(cron, "direction")?.value).toBe("input");
    expect(String(meta(cron, "schedule")?.value)).toMatch(/^@every \d+[sm]$/);
  });

  it("when resiliency targets are read, then they name defined policies, loaded components and known apps", () => {
    const res = one("Resiliency") as Resource & {
      spec: {
        policies: Record<"timeouts" | "retries" | "circuitBreakers", Record<string, unknown>>;
        targets: {
          apps: Record<string, Record<string, string>>;
          components: Record<string, Record<"inbound" | "outbound", Record<string, string> | undefined>>;
        };
      };
    };
    const { policies, targets } = res.spec;
    const check = (where: string, names: Record<string, string>) => {
      if (names.timeout) expect(policies.timeouts, where).toHaveProperty([names.timeout]);
      if (names.retry) expect(policies.retries, where).toHaveProperty([names.retry]);
      if (names.circuitBreaker)
        expect(policies.circuitBreakers, where).toHaveProperty([names.circuitBreaker]);
    };
    for (const [app, names] of Object.entries(targets.apps)) {
      expect(APP_IDS).toContain(app);
      check(app, names);
    }
    const componentNames = components().map((c) => c.metadata.name);
    for (const [name, directions] of Object.entries(targets.components)) {
      expect(componentNames).toContain(name);
      for (const names of Object.values(directions)) if (names) check(name, names);
    }
    // An open breaker on delivery would send events straight to the dead-letter topic.
    expect(targets.components[PUBSUB_NAME]?.inbound?.circuitBreaker).toBeUndefined();
    expect(targets.components[PUBSUB_NAME]?.inbound?.retry).toBeTruthy();
  });

  it("when the configuration is read, then service invocation is denied unless a policy allows it", () => {
    const config = one("Configuration") as Resource & {
      spec: {
        accessControl: { defaultAction: string; policies: { appId: string; defaultAction: string }[] };
        secrets: { scopes: { storeName: string; defaultAccess: string }[] };
        nameResolution: { component: string };
      };
    };
    expect(config.spec.accessControl.defaultAction).toBe("deny");
    expect(config.spec.accessControl.policies.map((p) => p.appId).sort()).toEqual([
      "mcp-server",
      "notifications",
      "recurring-tasks",
      "task-api",
    ]);
    for (const p of config.spec.accessControl.policies) expect(p.defaultAction).toBe("deny");
    expect(config.spec.secrets.scopes).toEqual([{ storeName: "taskmesh-secrets", defaultAccess: "deny" }]);
    expect(config.spec.nameResolution.component).toBe("sqlite");
  });
});

describe("dapr.yaml", () => {
  it("when read, then daprd calls every app on its sidecar listener (APP_PORT), and each app gets its public and operations ports, the shared resources and configuration", async () => {
    const [doc] = parseAllDocuments(await readFile(path.join(root, "dapr.yaml"), "utf8"));
    const run = doc?.toJS() as {
      version: number;
      common: { resourcesPath: string; configFilePath: string };
      apps: {
        appID: keyof typeof APP_PORTS;
        appDirPath: string;
        appPort: number;
        command: string[];
        env: Record<string, string>;
      }[];
    };
    expect(run.version).toBe(1);
    expect(existsSync(path.join(root, run.common.resourcesPath))).toBe(true);
    expect(existsSync(path.join(root, run.common.configFilePath))).toBe(true);
    expect(Object.fromEntries(run.apps.map((a) => [a.appID, a.env.PORT]))).toEqual(
      Object.fromEntries(Object.entries(APP_PORTS).map(([id, port]) => [id, String(port)])),
    );
    for (const app of run.apps) {
      // The sidecar listener and the operations one: public port + 100 and + 200, as npm start.
      expect(app.appPort).toBe(APP_PORTS[app.appID] + 100);
      expect(app.env.APP_PORT).toBe(String(app.appPort));
      expect(app.env.OPS_PORT).toBe(String(APP_PORTS[app.appID] + 200));
      expect(app.appDirPath).toBe(`./services/${app.appID}/`);
      expect(app.command).toEqual(["node", "dist/main.js"]);
    }
  });
});
