import { defineConfig } from "prisma/config";

// The datasource URL is only needed by `prisma migrate deploy` (Kubernetes migration Job,
// machines with the native schema engine). The services build their client from
// DATABASE_URL themselves, and `npm run db:migrate` uses the project's own applier.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/taskmesh" },
});
