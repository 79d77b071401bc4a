import { currentUserId } from "@taskmesh/auth";
import { REMINDER_EVENT_TYPES, storable, TASK_EVENT_TYPES } from "@taskmesh/contracts";
import {
  isUuid,
  decodeCursor,
  encodeCursor,
  invalidCursor,
  NotFoundError,
  parseBody,
  parseQuery,
} from "@taskmesh/core";
import express, { type Request, type Router } from "express";
import { z } from "zod";
import { parseWebhookUrl, WebhookTargetRefused } from "../domain/webhook-target.guard.ts";
import type { WebhookDeliveryView, WebhookUseCases, WebhookView } from "../domain/webhook.use-cases.ts";

const EVENT_TYPE_VALUES = [...TASK_EVENT_TYPES, ...REMINDER_EVENT_TYPES] as const;

export const registerWebhookBody = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((value, ctx) => {
      try {
        parseWebhookUrl(value);
      } catch (error) {
        if (!(error instanceof WebhookTargetRefused)) throw error;
        ctx.addIssue({ code: "custom", message: error.message });
      }
    })
    .meta({
      description:
        "http(s) URL receiving a POST per event. Its host must resolve only to public addresses (checked now and at every delivery).",
    }),
  eventTypes: z
    .array(z.enum(EVENT_TYPE_VALUES))
    .min(1)
    .max(20)
    .meta({ description: "CloudEvent types to receive: task events and/or reminder.due." }),
  description: z.string().trim().max(200).optional(),
});

const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(500).optional(),
});

const deliveryQuery = pageQuery.extend({
  status: z.enum(["pending", "succeeded", "failed"]).optional(),
});

const webhookCursor = z.object({ after: z.uuid() });
const deliveryCursor = z.object({
  createdAt: storable(z.iso.datetime()),
  id: z.uuid(),
  status: z.string().optional(),
});

/** A path id that is not a UUID cannot exist: 404, exactly like an unknown id. */
function webhookId(req: Request): string {
  const id = req.params.id;
  if (typeof id !== "string" || !isUuid(id)) throw new NotFoundError("Webhook");
  return id.toLowerCase();
}

function webhookJson(w: WebhookView) {
  return {
    id: w.id,
    url: w.url,
    eventTypes: w.eventTypes,
    description: w.description,
    createdAt: w.createdAt.toISOString(),
  };
}

function deliveryJson(d: WebhookDeliveryView) {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    createdAt: d.createdAt.toISOString(),
    completedAt: d.completedAt?.toISOString() ?? null,
  };
}

/** /webhooks: a user's webhook registrations and their delivery log (mounted under /v1, authenticated). */
export function webhookRoutes(webhooks: WebhookUseCases): Router {
  const router = express.Router();

  router.post("/webhooks", async (req, res) => {
    const body = parseBody(registerWebhookBody, req);
    const { webhook, secret } = await webhooks.register(currentUserId(res), body);
    res
      .status(201)
      .location(`/v1/webhooks/${webhook.id}`)
      .set("Cache-Control", "no-store")
      .json({ ...webhookJson(webhook), secret });
  });

  router.get("/webhooks", async (req, res) => {
    const query = parseQuery(pageQuery, req);
    const after = query.cursor === undefined ? undefined : decodeCursor(webhookCursor, query.cursor).after;
    const page = await webhooks.list(currentUserId(res), after, query.limit);
    res.json({
      data: page.data.map(webhookJson),
      nextCursor: page.next === undefined ? null : encodeCursor({ after: page.next }),
    });
  });

  router.get("/webhooks/:id", async (req, res) => {
    res.json(webhookJson(await webhooks.get(currentUserId(res), webhookId(req))));
  });

  router.delete("/webhooks/:id", async (req, res) => {
    await webhooks.remove(currentUserId(res), webhookId(req));
    res.status(204).end();
  });

  router.get("/webhooks/:id/deliveries", async (req, res) => {
    const id = webhookId(req);
    const query = parseQuery(deliveryQuery, req);
    let after: { createdAt: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const cursor = decodeCursor(deliveryCursor, query.cursor);
      // A cursor from a listing with another status filter would skip or repeat rows.
      if ((cursor.status ?? null) !== (query.status ?? null)) throw invalidCursor();
      after = { createdAt: new Date(cursor.createdAt), id: cursor.id };
    }
    const page = await webhooks.deliveries(
      currentUserId(res),
      id,
      { status: query.status },
      after,
      query.limit,
    );
    res.json({
      data: page.data.map(deliveryJson),
      nextCursor:
        page.next === undefined
          ? null
          : encodeCursor({
              createdAt: page.next.createdAt.toISOString(),
              id: page.next.id,
              ...(query.status ? { status: query.status } : {}),
            }),
    });
  });

  return router;
}
