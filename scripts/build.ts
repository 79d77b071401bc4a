/**
 * Bundles each service's src/main.ts into services/<name>/dist/main.js. Workspace
 * packages (TypeScript sources) are inlined; npm dependencies stay external and are
 * loaded from node_modules, so containers run `node dist/main.js` with production deps.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build, type Plugin } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
/** Other entry points bundled when a service has them, each to dist/<name>.js. */
const EXTRA_ENTRY_POINTS = ["stdio.ts"];

const externalizeNpmPackages: Plugin = {
  name: "externalize-npm-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@taskmesh/") || args.path.startsWith("node:")) return undefined;
      return { path: args.path, external: true };
    });
  },
};

export async function buildServices(only?: string[]): Promise<string[]> {
  const names = (await readdir(path.join(root, "services"), { withFileTypes: true }))
    .filter((d) => d.isDirectory() && (!only || only.includes(d.name)))
    .map((d) => d.name);
  await Promise.all(
    names.map(async (name) => {
      const result = await build({
        // A service may have more entry points than main.ts (mcp-server's stdio.ts: dist/stdio.js).
        entryPoints: ["main.ts", ...EXTRA_ENTRY_POINTS]
          .map((file) => path.join(root, "services", name, "src", file))
          .filter((file) => file.endsWith("main.ts") || existsSync(file)),
        outdir: path.join(root, "services", name, "dist"),
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node22",
        sourcemap: true,
        logLevel: "warning",
        plugins: [externalizeNpmPackages],
        // Written below, each file atomically: tests rebuild a service while others start its
        // dist/main.js, and a process must never load a half-written bundle.
        write: false,
      });
      await Promise.all(result.outputFiles.map((file) => writeAtomically(file.path, file.contents)));
    }),
  );
  return names;
}

async function writeAtomically(file: string, contents: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

if (import.meta.filename === process.argv[1]) {
  const started = performance.now();
  const names = await buildServices(process.argv.slice(2).length > 0 ? process.argv.slice(2) : undefined);
  console.log(`built ${names.join(", ")} in ${Math.round(performance.now() - started)} ms`);
}
