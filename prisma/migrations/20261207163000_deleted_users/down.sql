-- Reverts 20261207163000_deleted_users (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "notification_deleted_users";

-- DropTable
DROP TABLE "audit_deleted_users";
