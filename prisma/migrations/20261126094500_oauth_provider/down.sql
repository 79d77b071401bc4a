-- Reverts 20261126094500_oauth_provider (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "oauth_access_tokens";
DROP TABLE "oauth_refresh_tokens";
DROP TABLE "oauth_consents";
DROP TABLE "oauth_client_resources";
DROP TABLE "oauth_resources";
DROP TABLE "oauth_clients";
DROP TABLE "oauth_client_assertions";
