// `npm run db:generate` and the root postinstall: generates the Prisma client into
// packages/db/src/generated/prisma. `prisma generate` does not use the native schema engine, but the
// CLI tries to download it first and fails where that download is blocked; pointing
// PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);

let prismaCli;
try {
  prismaCli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");
} catch {
  // An install without devDependencies (e.g. --omit=dev) has no prisma CLI; it ships a client
  // generated elsewhere, so there is nothing to do.
  console.warn("prisma-generate: the prisma CLI is not installed; skipping client generation.");
  process.exit(0);
}

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = path.join(tmpdir(), "taskmesh-prisma-schema-engine-placeholder");
  if (!existsSync(placeholder)) writeFileSync(placeholder, "");
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}

const result = spawnSync(process.execPath, [prismaCli, "generate", ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
