/**
 * better-auth and its @better-auth/* packages are released together and must be installed at one
 * version: a plugin built for another core (oauth-provider 1.7.5 next to better-auth 1.7.25, once
 * held together by root `overrides`) runs against internals it was not written for. The
 * lockfile is what installs, so the check reads it, and root package.json may not override them.
 *
 * The lockstep family is better-auth, @better-auth/core, and every @better-auth/* package that
 * depends on either (plugins and adapters peer-depend on @better-auth/core). @better-auth/utils
 * depends on neither and is versioned on its own (better-auth 1.7.29 pins it at 0.5.1).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";

const root = path.resolve(import.meta.dirname, "../..");

const lockSchema = z.object({
  packages: z.record(
    z.string(),
    z
      .object({
        version: z.string().optional(),
        link: z.boolean().optional(),
        dependencies: z.record(z.string(), z.string()).optional(),
        peerDependencies: z.record(z.string(), z.string()).optional(),
      })
      .loose(),
  ),
});
const manifestSchema = z.object({ overrides: z.record(z.string(), z.unknown()).optional() }).loose();

type Lock = z.infer<typeof lockSchema>;

const FAMILY = /^(better-auth|@better-auth\/[^/]+)$/;
const CORE = ["better-auth", "@better-auth/core"];

/** The package name of a lockfile key ("services/x/node_modules/@a/b" -> "@a/b"). */
const nameOf = (key: string): string | undefined => {
  const at = key.lastIndexOf("node_modules/");
  return at === -1 ? undefined : key.slice(at + "node_modules/".length);
};

/** Problems with the better-auth family in a lockfile and a root manifest; empty = fine. */
export function betterAuthVersionProblems(lock: Lock, manifest: z.infer<typeof manifestSchema>): string[] {
  const problems: string[] = [];
  const resolved: { key: string; name: string; version: string }[] = [];
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = nameOf(key);
    if (name === undefined || !FAMILY.test(name) || entry.link === true || entry.version === undefined)
      continue;
    const lockstep =
      CORE.includes(name) ||
      CORE.some(
        (core) => entry.dependencies?.[core] !== undefined || entry.peerDependencies?.[core] !== undefined,
      );
    if (lockstep) resolved.push({ key, name, version: entry.version });
  }
  if (!resolved.some((r) => r.name === "better-auth")) problems.push("better-auth is not in the lockfile");
  const versions = new Set(resolved.map((r) => r.version));
  if (versions.size > 1)
    problems.push(
      `better-auth and @better-auth/* resolve to different versions: ${resolved
        .map((r) => `${r.key}@${r.version}`)
        .join(", ")}`,
    );
  for (const key of Object.keys(manifest.overrides ?? {}))
    if (FAMILY.test(key)) problems.push(`root package.json overrides ${key}`);
  return problems;
}

describe("better-auth versions", () => {
  it("when the lockfile is read, then better-auth and every @better-auth/* package of its family resolve to one version, with no root overrides", async () => {
    const lock = lockSchema.parse(JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")));
    const manifest = manifestSchema.parse(
      JSON.parse(await readFile(path.join(root, "package.json"), "utf8")),
    );

    expect(betterAuthVersionProblems(lock, manifest)).toEqual([]);
    // The check saw the plugin task-api installs, not only the hoisted family.
    const names = Object.keys(lock.packages).map(nameOf);
    expect(names).toContain("@better-auth/oauth-provider");
  });

  it("when a plugin lags behind better-auth and root overrides hide the peer mismatch (the state before 1.7.29), then both are reported", () => {
    const lock: Lock = {
      packages: {
        "node_modules/better-auth": { version: "1.7.25", dependencies: { "@better-auth/core": "1.7.25" } },
        "node_modules/@better-auth/core": { version: "1.7.25" },
        "node_modules/@better-auth/utils": { version: "0.3.0" },
        "services/task-api/node_modules/@better-auth/oauth-provider": {
          version: "1.7.5",
          peerDependencies: { "@better-auth/core": "1.7.5", "better-auth": "1.7.5" },
        },
      },
    };

    const problems = betterAuthVersionProblems(lock, {
      overrides: {
        "@better-auth/oauth-provider": { "better-auth": "$better-auth" },
        "better-auth": "1.7.25",
      },
    });

    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/different versions: .*oauth-provider@1\.7\.5/);
    expect(problems[0]).not.toMatch(/utils/);
    expect(problems.slice(1)).toEqual([
      "root package.json overrides @better-auth/oauth-provider",
      "root package.json overrides better-auth",
    ]);
  });

  it("when only @better-auth/utils has its own version, then nothing is reported", () => {
    const lock: Lock = {
      packages: {
        "node_modules/better-auth": { version: "1.7.29", dependencies: { "@better-auth/core": "1.7.29" } },
        "node_modules/@better-auth/core": { version: "1.7.29" },
        "node_modules/@better-auth/utils": { version: "0.5.1" },
      },
    };
    expect(betterAuthVersionProblems(lock, {})).toEqual([]);
  });
});
