import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureDaprd, ensureKafka, ensureSentry } from "../../scripts/stack/index.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A directory for this test run's stacks (build lock, per-stack work dirs). */
    stackRunDir: string;
  }
}

/**
 * Provisions what test/support/stack.ts runs (daprd and Sentry builds, Kafka's jars): instant
 * when cached, minutes on a new machine, which is why it happens here and not inside a
 * test's hook timeout. Also gives the run a directory of its own for the stacks.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const progress = (line: string): void => {
    if (!/already installed|using cached build|pinned Dapr version/.test(line)) console.log(line);
  };
  await Promise.all([ensureDaprd(progress), ensureKafka(progress)]);
  await ensureSentry(progress);
  const runDir = await mkdtemp(path.join(tmpdir(), "taskmesh-stacks-"));
  project.provide("stackRunDir", runDir);
  return async () => {
    await rm(runDir, { recursive: true, force: true });
  };
}
