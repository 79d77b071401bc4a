import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { COMPONENTS_DIR } from "./paths.ts";

interface Resource {
  kind?: string;
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
  scopes?: string[];
}

async function readResources(file: string): Promise<Resource[]> {
  const text = await readFile(path.join(COMPONENTS_DIR, file), "utf8");
  return parseAllDocuments(text).map((d) => d.toJS() as Resource);
}

/** A topic an app's sidecar subscribes to (declarative subscriptions in subscriptions.yaml). */
export interface ExpectedSubscription {
  pubsubname: string;
  topic: string;
  deadLetterTopic?: string;
}

/** What each app's sidecar should report in /v1.0/metadata once its subscriptions run. */
export async function expectedSubscriptions(appId: string): Promise<ExpectedSubscription[]> {
  const docs = await readResources("subscriptions.yaml");
  return docs
    .filter((d) => d.kind === "Subscription" && (d.scopes ?? []).includes(appId))
    .map((d) => {
      const spec = d.spec as { pubsubname: string; topic: string; deadLetterTopic?: string };
      return {
        pubsubname: spec.pubsubname,
        topic: spec.topic,
        ...(spec.deadLetterTopic ? { deadLetterTopic: spec.deadLetterTopic } : {}),
      };
    });
}

/** Every topic named in subscriptions.yaml, dead-letter topics included. */
export async function declaredTopics(): Promise<string[]> {
  const docs = await readResources("subscriptions.yaml");
  const topics = new Set<string>();
  for (const d of docs) {
    if (d.kind !== "Subscription") continue;
    const spec = d.spec as { topic: string; deadLetterTopic?: string };
    topics.add(spec.topic);
    if (spec.deadLetterTopic) topics.add(spec.deadLetterTopic);
  }
  return [...topics].sort();
}

/** The Kafka consumer group of an app's sidecar (pubsub.yaml `consumerGroup`, `{appID}` replaced). */
export async function consumerGroupOf(appId: string): Promise<string> {
  const docs = await readResources("pubsub.yaml");
  const pubsub = docs.find((d) => d.kind === "Component");
  const meta = (pubsub?.spec?.metadata ?? []) as { name: string; value?: string }[];
  const group = meta.find((m) => m.name === "consumerGroup")?.value ?? "{appID}";
  return group.replaceAll("{appID}", appId);
}

/**
 * Writes a copy of configuration.yaml for one stack: its sqlite name-resolution database
 * lives at `nameResolutionDb`, so stacks on one machine (parallel test files, `npm start`)
 * never see each other's sidecars.
 */
export async function writeStackConfiguration(destination: string, nameResolutionDb: string): Promise<void> {
  const [config] = await readResources("configuration.yaml");
  const spec = (config?.spec ?? {}) as {
    nameResolution?: { component?: string; configuration?: Record<string, unknown> };
  };
  if (spec.nameResolution?.component !== "sqlite")
    throw new Error("dapr-components/configuration.yaml: expected nameResolution.component sqlite");
  spec.nameResolution.configuration = {
    ...spec.nameResolution.configuration,
    connectionString: nameResolutionDb,
  };
  await writeFile(
    destination,
    `# Generated from dapr-components/configuration.yaml for one stack (own name-resolution db).\n${stringify(config)}`,
  );
}
