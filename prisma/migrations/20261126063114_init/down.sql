-- Reverts 20261126063114_init completely. Prisma never runs this file (it only reads migration.sql);
-- `npm run db:migrate -- --down 1` does. Generated with Prisma's diff from schema.prisma to an empty
-- database, unqualified like migration.sql so it works in whichever schema the migration ran.

-- DropTrigger
DROP TRIGGER "tasks_search_update" ON "tasks";

-- DropFunction
DROP FUNCTION "tasks_search_update"();

-- DropForeignKey
ALTER TABLE "sessions" DROP CONSTRAINT "sessions_user_id_fkey";

-- DropForeignKey
ALTER TABLE "accounts" DROP CONSTRAINT "accounts_user_id_fkey";

-- DropForeignKey
ALTER TABLE "lists" DROP CONSTRAINT "lists_user_id_fkey";

-- DropForeignKey
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_user_id_fkey";

-- DropForeignKey
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_user_id_list_id_fkey";

-- DropForeignKey
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_user_id_parent_id_fkey";

-- DropForeignKey
ALTER TABLE "tags" DROP CONSTRAINT "tags_user_id_fkey";

-- DropForeignKey
ALTER TABLE "task_tags" DROP CONSTRAINT "task_tags_user_id_task_id_fkey";

-- DropForeignKey
ALTER TABLE "task_tags" DROP CONSTRAINT "task_tags_user_id_tag_id_fkey";

-- DropForeignKey
ALTER TABLE "idempotency_keys" DROP CONSTRAINT "idempotency_keys_user_id_fkey";

-- DropTable
DROP TABLE "users";

-- DropTable
DROP TABLE "sessions";

-- DropTable
DROP TABLE "accounts";

-- DropTable
DROP TABLE "verifications";

-- DropTable
DROP TABLE "jwks";

-- DropTable
DROP TABLE "lists";

-- DropTable
DROP TABLE "tasks";

-- DropTable
DROP TABLE "tags";

-- DropTable
DROP TABLE "task_tags";

-- DropTable
DROP TABLE "idempotency_keys";

-- DropEnum
DROP TYPE "priority";

