import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * prisma/migrations of this repository. Resolved from this file, so it is only right while the
 * package runs from source (tsx, vitest); a bundled caller passes `migrationsDir` itself.
 */
export const defaultMigrationsDir = fileURLToPath(new URL("../../../prisma/migrations", import.meta.url));

/** One `<timestamp>_<name>/` folder of the migrations directory. */
export interface MigrationFile {
  /** The folder name, which is also `_prisma_migrations.migration_name`. */
  name: string;
  /** Absolute path of the folder. */
  dir: string;
  /** Content of migration.sql, the only file Prisma applies. */
  script: string;
  /** sha256 of migration.sql, formatted as Prisma stores it. */
  checksum: string;
  /** Content of down.sql (Prisma's convention for down migrations), null when the folder has none. */
  downScript: string | null;
}

export interface MigrationsDirectory {
  /** `provider` of migration_lock.toml, null when the file is missing. */
  lockProvider: string | null;
  migrations: MigrationFile[];
}

/**
 * Reads the migrations directory the way the Prisma CLI does (packages/migrate, listMigrations):
 * every sub-folder is a migration, sorted with localeCompare, migration.sql read as UTF-8.
 */
export async function readMigrationsDirectory(
  migrationsDir: string = defaultMigrationsDir,
): Promise<MigrationsDirectory> {
  const lock = await readOptional(path.join(migrationsDir, "migration_lock.toml"));
  // A missing directory is an error, not "nothing to apply": a wrong path would otherwise
  // leave a fresh database unmigrated while reporting success.
  const entries = await readdir(migrationsDir, { withFileTypes: true }).catch((error: unknown) => {
    if (isNotFound(error))
      throw new Error(`The migrations directory ${migrationsDir} does not exist.`, { cause: error });
    throw error;
  });

  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));

  const migrations: MigrationFile[] = [];
  for (const name of names) {
    const dir = path.join(migrationsDir, name);
    const script = await readOptional(path.join(dir, "migration.sql"));
    if (script === null) {
      // Prisma's P3015 wording, so the fix is the same whichever tool reports it.
      throw new Error(
        `Could not find the migration file at ${path.join(dir, "migration.sql")}. Please delete the directory or restore the migration file.`,
      );
    }
    const downScript = await readOptional(path.join(dir, "down.sql"));
    migrations.push({ name, dir, script, checksum: migrationChecksum(script), downScript });
  }

  return { lockProvider: lock === null ? null : readLockProvider(lock), migrations };
}

/**
 * sha256 of the script as lowercase, zero-padded hex: what `prisma migrate deploy` writes to
 * `_prisma_migrations.checksum` (prisma-engines schema-connector/src/checksum.rs, render_checksum).
 */
export function migrationChecksum(script: string): string {
  return createHash("sha256").update(script, "utf8").digest("hex");
}

/**
 * Prisma's script_matches_checksum: git may have rewritten line endings since the migration was
 * applied, so the script also matches with CRLF turned into LF and LF into CRLF; very old Prisma
 * versions stored the hex without zero padding.
 */
export function scriptMatchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll("\r\n", "\n"), script.replaceAll("\n", "\r\n")];
  return variants.some((variant) => {
    const digest = createHash("sha256").update(variant, "utf8").digest();
    const rendered =
      checksum.length > 0 && checksum.length !== 64
        ? [...digest].map((byte) => byte.toString(16)).join("")
        : digest.toString("hex");
    return rendered === checksum;
  });
}

/** Same parsing as prisma-engines read_provider_from_lock_file. */
function readLockProvider(content: string): string {
  const line = content.split(/\r?\n/).find((candidate) => candidate.startsWith("provider"));
  if (line === undefined) return "<PROVIDER NOT FOUND>";
  return line.replace(/^provider = /, "").replace(/^"+|"+$/g, "");
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}
