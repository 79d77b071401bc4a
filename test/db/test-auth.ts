import type { PrismaClient } from "@taskmesh/db";
import { createAuth } from "../../services/task-api/src/auth/auth.ts";

/** task-api's Better Auth over `prisma`, as the migration tests sign users up and in with it. */
export function createTestAuth(prisma: PrismaClient): ReturnType<typeof createAuth> {
  return createAuth({
    prisma,
    baseURL: "http://localhost:3000",
    secret: "a-test-secret-that-is-long-enough-0123456789",
    audience: "taskmesh",
    trustedOrigins: [],
    rateLimit: false,
  });
}
