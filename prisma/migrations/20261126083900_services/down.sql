-- Reverts 20261126083900_services (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "stream_events";
DROP TABLE "webhook_deliveries";
DROP TABLE "webhooks";
DROP TABLE "reminders";
DROP TABLE "audit_entries";

-- DropIndex
DROP INDEX "tasks_user_id_occurrence_key_key";

-- AlterTable
ALTER TABLE "tasks" DROP COLUMN "occurrence_key";

-- DropEnum
DROP TYPE "webhook_delivery_status";
