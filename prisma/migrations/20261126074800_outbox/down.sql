-- Reverts 20261126074800_outbox (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "outbox_events";
