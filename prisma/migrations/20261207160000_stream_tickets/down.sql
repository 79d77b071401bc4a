-- Reverts 20261207160000_stream_tickets (run by `npm run db:migrate -- --down 1`; Prisma never reads it).

-- DropTable
DROP TABLE "stream_tickets";
