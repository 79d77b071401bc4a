import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type PrismaClient } from "@taskmesh/db";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrismaClient({ connectionString: db.connectionString, poolMax: 2 });
});

afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

async function searchOf(taskId: string): Promise<string | null> {
  const rows = await prisma.$queryRaw<
    { search: string | null }[]
  >`SELECT search::text AS search FROM tasks WHERE id = ${taskId}::uuid`;
  return rows[0]?.search ?? null;
}

async function matches(taskId: string, query: string): Promise<boolean> {
  const rows = await prisma.$queryRaw<{ hit: boolean }[]>`
    SELECT search @@ plainto_tsquery('simple', ${query}) AS hit FROM tasks WHERE id = ${taskId}::uuid`;
  return rows[0]?.hit ?? false;
}

describe("tasks.search", () => {
  it("when a task is created, then its title (weight A) and description (weight B) are indexed", async () => {
    const user = await prisma.user.create({
      data: { id: "0193c0de-0000-7000-8000-000000000001", name: "Ada", email: "ada@example.com" },
    });
    const task = await prisma.task.create({
      data: { userId: user.id, title: "Buy oat milk", description: "from the corner shop" },
    });

    expect(await searchOf(task.id)).toBe(
      "'buy':1A 'corner':6B 'from':4B 'milk':3A 'oat':2A 'shop':7B 'the':5B",
    );
    expect(await matches(task.id, "corner shop")).toBe(true);
  });

  it("when the title or description changes, then the vector follows", async () => {
    const user = await prisma.user.create({
      data: { id: "0193c0de-0000-7000-8000-000000000002", name: "Bo", email: "bo@example.com" },
    });
    const task = await prisma.task.create({ data: { userId: user.id, title: "Draft report" } });
    expect(await searchOf(task.id)).toBe("'draft':1A 'report':2A");

    await prisma.task.update({
      where: { id: task.id },
      data: { title: "Final report", description: "send to Carla" },
    });

    expect(await matches(task.id, "draft")).toBe(false);
    expect(await matches(task.id, "final carla")).toBe(true);

    await prisma.task.update({ where: { id: task.id }, data: { description: null } });
    expect(await searchOf(task.id)).toBe("'final':1A 'report':2A");
  });

  it("when only other columns change, then the vector is left alone", async () => {
    const user = await prisma.user.create({
      data: { id: "0193c0de-0000-7000-8000-000000000003", name: "Cy", email: "cy@example.com" },
    });
    const task = await prisma.task.create({ data: { userId: user.id, title: "Water plants" } });
    // A stale value the trigger would overwrite if it fired.
    await prisma.$executeRaw`UPDATE tasks SET search = to_tsvector('simple', 'stale') WHERE id = ${task.id}::uuid`;

    await prisma.task.update({ where: { id: task.id }, data: { completed: true } });

    expect(await searchOf(task.id)).toBe("'stale':1");
  });
});
