-- Reverts 20261126093000_personal_access_tokens (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "personal_access_tokens";

-- DropEnum
DROP TYPE "token_scope";
