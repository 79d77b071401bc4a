import { applyMigrations, createPrismaClient, defaultMigrationsDir, revertMigrations } from "@taskmesh/db";
import { hashPassword } from "better-auth/crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { readCatalog } from "./catalog.ts";
import { migrationsUntil } from "./migrations-until.ts";
import { createTestAuth } from "./test-auth.ts";

// A user who signed up under Better Auth's 32-character ids, migrated by uuid_ids, signs in with
// their password: 20261208003000_credential_account_ids makes account_id the new user id again.

const OLD_ID = "daveDDDDDDDDDDDDDDDDDDDDDDDDDDDD";
const EMAIL = "dave@example.test";
const PASSWORD = "correct horse battery staple";

let db: TestDatabase;

function signIn(): Promise<unknown> {
  const prisma = createPrismaClient({ connectionString: db.connectionString });
  const auth = createTestAuth(prisma);
  return auth.api
    .signInEmail({ body: { email: EMAIL, password: PASSWORD } })
    .finally(() => prisma.$disconnect());
}

beforeAll(async () => {
  const beforeUuids = await migrationsUntil("20261207163000_deleted_users");
  const beforeFix = await migrationsUntil("20261207230000_service_user_uuids");
  try {
    db = await createTestDatabase({ migrated: false });
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: beforeUuids.dir });
    const client = new pg.Client({ connectionString: db.connectionString });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO users (id, name, email, email_verified, updated_at) VALUES ($1, 'Dave', $2, true, now())`,
        [OLD_ID, EMAIL],
      );
      await client.query(
        `INSERT INTO accounts (id, account_id, provider_id, user_id, password, updated_at)
         VALUES ('accDDDDDDDDDDDDDDDDDDDDDDDDDDDDD', $1, 'credential', $1, $2, now())`,
        [OLD_ID, await hashPassword(PASSWORD)],
      );
    } finally {
      await client.end();
    }
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: beforeFix.dir });
  } finally {
    await beforeUuids.remove();
    await beforeFix.remove();
  }
});

afterAll(async () => {
  await db.drop();
});

describe("migration 20261208003000_credential_account_ids", () => {
  it("when uuid_ids has migrated a user but not this migration, then their password sign-in fails", async () => {
    await expect(signIn()).rejects.toMatchObject({ statusCode: 401 });
  });

  it("when it is applied, then the same user signs in with their password under the new id", async () => {
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: defaultMigrationsDir });
    const result = (await signIn()) as { user: { id: string; email: string } };
    expect(result.user.email).toBe(EMAIL);
    expect(result.user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("when reverted, then the schema is as before and up applies again", async () => {
    const before = await readCatalog(db.connectionString);
    await revertMigrations({
      connectionString: db.connectionString,
      migrationsDir: defaultMigrationsDir,
      steps: 1,
    });
    expect(await readCatalog(db.connectionString)).toEqual(before);
    await applyMigrations({ connectionString: db.connectionString, migrationsDir: defaultMigrationsDir });
    await expect(signIn()).resolves.toBeTruthy();
  });
});
