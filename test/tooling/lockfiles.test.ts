/**
 * Every lockfile in the repository must install on a machine whose npm cache is empty: a warm
 * cache hides what a new machine hits (the migrate image's install failed there with
 * SELF_SIGNED_CERT_IN_CHAIN: the install ran without the machine's CA bundle, see
 * test/support/npm-env.ts, and only the warm cache had kept it off the network). `npm ci
 * --dry-run` fetches nothing, so only a real install proves it: each small lockfile is installed
 * here into a scratch copy with an empty cache (a few seconds); the root lockfile is installed
 * that way by .ci/run itself (about 15 s for 545 packages), which the last test holds it to.
 */
import { spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { npmNetworkEnv } from "../support/npm-env.ts";

const root = path.resolve(import.meta.dirname, "../..");

const lockfiles = spawnSync("git", ["ls-files", "--", "package-lock.json", "**/package-lock.json"], {
  cwd: root,
  encoding: "utf8",
})
  .stdout.split("\n")
  .filter(Boolean)
  .sort();

const lockSchema = z.object({
  lockfileVersion: z.literal(3),
  packages: z.record(
    z.string(),
    z.object({
      version: z.string().optional(),
      optional: z.boolean().optional(),
      os: z.array(z.string()).optional(),
    }),
  ),
});

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "taskmesh-lockfiles-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("lockfiles", () => {
  it("when the repository's lockfiles are listed, then the root's and the migrate image's are among them, all lockfile v3", async () => {
    expect(lockfiles).toEqual(
      expect.arrayContaining(["package-lock.json", "scripts/migrate/package-lock.json"]),
    );
    for (const file of lockfiles) lockSchema.parse(JSON.parse(await readFile(path.join(root, file), "utf8")));
  });

  for (const file of lockfiles.filter((f) => f !== "package-lock.json")) {
    it(`when ${file} is installed with npm ci on an empty npm cache, then every package it pins is fetched and installed`, async () => {
      const dir = path.dirname(file);
      const target = path.join(scratch, dir.replaceAll("/", "_"));
      for (const name of ["package.json", "package-lock.json"])
        await cp(path.join(root, dir, name), path.join(target, name));
      const started = performance.now();
      // Only the fetch and the install: install scripts may download from outside the registry.
      // The registry here sometimes answers one request with a TLS error, so a failed install is
      // tried once more on a new empty cache: a version it does not serve fails both times.
      const install = (attempt: number) =>
        spawnSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], {
          cwd: target,
          encoding: "utf8",
          env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "",
            ...npmNetworkEnv(),
            npm_config_cache: path.join(scratch, `${dir.replaceAll("/", "_")}-cache-${attempt}`),
            npm_config_update_notifier: "false",
          },
          timeout: 240_000,
        });
      let result = install(1);
      if (result.status !== 0) {
        console.log(`${file}: first npm ci failed, trying once more:\n${result.stderr.slice(-2000)}`);
        result = install(2);
      }
      expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);

      // Every package of the lockfile this platform installs is there, at its pinned version.
      const lock = lockSchema.parse(JSON.parse(await readFile(path.join(root, file), "utf8")));
      const missing: string[] = [];
      for (const [at, entry] of Object.entries(lock.packages)) {
        if (at === "" || entry.optional) continue;
        const manifest = await readFile(path.join(target, at, "package.json"), "utf8").catch(() => undefined);
        const version = manifest ? (JSON.parse(manifest) as { version?: string }).version : undefined;
        if (version !== entry.version)
          missing.push(`${at}@${entry.version ?? "?"} (found ${version ?? "none"})`);
      }
      expect(missing).toEqual([]);
      console.log(`${file}: npm ci on an empty cache in ${Math.round(performance.now() - started)} ms`);
    }, 300_000);
  }

  it("when CI installs the root lockfile, then it does so on an empty npm cache", async () => {
    const script = await readFile(path.join(root, ".ci/run"), "utf8");
    const lines = script.split("\n").map((l) => l.trim());
    const install = lines.findIndex((l) => /^(\S+=\S+\s+)*npm ci\b/.test(l));
    expect(install, "no npm ci in .ci/run").toBeGreaterThan(-1);
    const before = lines.slice(0, install + 1).join("\n");
    expect(before).toMatch(/(export\s+)?npm_config_cache="?\$\(mktemp -d\)"?/);
  });
});
