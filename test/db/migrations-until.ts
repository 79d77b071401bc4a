import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { defaultMigrationsDir, readMigrationsDirectory } from "@taskmesh/db";

/**
 * A copy of prisma/migrations that ends with `last`: a test of one migration applies and reverts
 * it as the newest, whatever migrations were added after it. `remove` deletes the copy.
 */
export async function migrationsUntil(last: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const { migrations } = await readMigrationsDirectory(defaultMigrationsDir);
  const end = migrations.findIndex((migration) => migration.name === last);
  if (end === -1) throw new Error(`no migration ${last} in ${defaultMigrationsDir}`);
  const dir = await mkdtemp(path.join(tmpdir(), "taskmesh-migrations-until-"));
  await cp(path.join(defaultMigrationsDir, "migration_lock.toml"), path.join(dir, "migration_lock.toml"));
  for (const migration of migrations.slice(0, end + 1)) {
    await cp(migration.dir, path.join(dir, migration.name), { recursive: true });
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
