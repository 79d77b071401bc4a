import { isUuid } from "@taskmesh/core";
import type { PrismaClient } from "@taskmesh/db";
import type { WebhookRepository } from "../domain/webhook.use-cases.ts";

const WEBHOOK_VIEW = { id: true, url: true, eventTypes: true, description: true, createdAt: true } as const;

export function createWebhookRepository(prisma: PrismaClient): WebhookRepository {
  return {
    async insertWithinLimit(webhook, limit) {
      return prisma.$transaction(async (tx) => {
        // Two concurrent registrations must not both slip under the cap.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`webhooks:${webhook.userId}`}, 0))`;
        const count = await tx.webhook.count({ where: { userId: webhook.userId } });
        if (count >= limit) return undefined;
        return tx.webhook.create({
          data: {
            id: webhook.id,
            userId: webhook.userId,
            url: webhook.url,
            eventTypes: webhook.eventTypes,
            description: webhook.description,
            secret: webhook.sealedSecret,
          },
          select: WEBHOOK_VIEW,
        });
      });
    },

    async findPage(userId, afterId, limit) {
      // user_id is a uuid: any other string names no user (and would fail the cast with a 500).
      if (!isUuid(userId)) return { data: [], next: undefined };
      // uuidv7 ids grow with creation time: id order is creation order.
      const rows = await prisma.webhook.findMany({
        where: { userId, ...(afterId === undefined ? {} : { id: { gt: afterId } }) },
        orderBy: { id: "asc" },
        take: limit + 1,
        select: WEBHOOK_VIEW,
      });
      const data = rows.slice(0, limit);
      return { data, next: rows.length > limit ? data.at(-1)?.id : undefined };
    },

    async find(userId, id) {
      if (!isUuid(userId)) return undefined;
      return (await prisma.webhook.findFirst({ where: { id, userId }, select: WEBHOOK_VIEW })) ?? undefined;
    },

    async delete(userId, id) {
      if (!isUuid(userId)) return false;
      const { count } = await prisma.webhook.deleteMany({ where: { id, userId } });
      return count > 0;
    },

    async findDeliveryPage(webhookId, filter, after, limit) {
      const rows = await prisma.webhookDelivery.findMany({
        where: {
          webhookId,
          ...(filter.status === undefined ? {} : { status: filter.status }),
          ...(after === undefined
            ? {}
            : {
                OR: [
                  { createdAt: { lt: after.createdAt } },
                  { createdAt: after.createdAt, id: { lt: after.id } },
                ],
              }),
        },
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
        take: limit + 1,
        select: {
          id: true,
          eventId: true,
          eventType: true,
          status: true,
          attempts: true,
          nextAttemptAt: true,
          lastStatusCode: true,
          lastError: true,
          createdAt: true,
          completedAt: true,
        },
      });
      const data = rows.slice(0, limit).map((r) => ({
        ...r,
        nextAttemptAt: r.status === "pending" ? r.nextAttemptAt : null,
      }));
      const last = data.at(-1);
      return {
        data,
        next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : undefined,
      };
    },
  };
}
