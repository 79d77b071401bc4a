import { InvalidError, NotFoundError, QuotaExceededError } from "@taskmesh/core";
import { v7 as uuidv7 } from "uuid";
import { generateSigningSecret, type SecretBox } from "./webhook-signing.ts";
import { WebhookTargetRefused, type WebhookTargetGuard } from "./webhook-target.guard.ts";

/** A webhook as its owner sees it (never the secret). */
export interface WebhookView {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  createdAt: Date;
}

export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface NewWebhook {
  id: string;
  userId: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  /** Already sealed (encrypted). */
  sealedSecret: string;
}

export interface Page<T, C> {
  data: T[];
  next: C | undefined;
}

/** The webhooks store (data/webhook.repository.ts implements it). */
export interface WebhookRepository {
  /** Inserts unless the user already has `limit` webhooks; false then. Serialised per user. */
  insertWithinLimit(webhook: NewWebhook, limit: number): Promise<WebhookView | undefined>;
  findPage(userId: string, afterId: string | undefined, limit: number): Promise<Page<WebhookView, string>>;
  find(userId: string, id: string): Promise<WebhookView | undefined>;
  /** Deletes the webhook and its delivery log; false when the user has no such webhook. */
  delete(userId: string, id: string): Promise<boolean>;
  findDeliveryPage(
    webhookId: string,
    filter: { status?: WebhookDeliveryView["status"] | undefined },
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Page<WebhookDeliveryView, { createdAt: Date; id: string }>>;
}

export interface RegisterWebhookInput {
  url: string;
  eventTypes: string[];
  description?: string | undefined;
}

export interface DeliveryCursor {
  createdAt: Date;
  id: string;
}

export interface WebhookUseCases {
  /** Registers a webhook; the signing secret is returned here and never again. */
  register(userId: string, input: RegisterWebhookInput): Promise<{ webhook: WebhookView; secret: string }>;
  list(userId: string, afterId: string | undefined, limit: number): Promise<Page<WebhookView, string>>;
  get(userId: string, id: string): Promise<WebhookView>;
  remove(userId: string, id: string): Promise<void>;
  deliveries(
    userId: string,
    webhookId: string,
    filter: { status?: WebhookDeliveryView["status"] | undefined },
    after: DeliveryCursor | undefined,
    limit: number,
  ): Promise<Page<WebhookDeliveryView, DeliveryCursor>>;
}

export interface WebhookUseCaseDeps {
  webhooks: WebhookRepository;
  guard: WebhookTargetGuard;
  secretBox: SecretBox;
  maxPerUser: number;
}

export function createWebhookUseCases(deps: WebhookUseCaseDeps): WebhookUseCases {
  const { webhooks } = deps;

  async function owned(userId: string, id: string): Promise<WebhookView> {
    const webhook = await webhooks.find(userId, id);
    // Another user's webhook is indistinguishable from one that does not exist.
    if (!webhook) throw new NotFoundError("Webhook");
    return webhook;
  }

  return {
    async register(userId, input) {
      let url: URL;
      try {
        ({ url } = await deps.guard.check(input.url));
      } catch (error) {
        if (!(error instanceof WebhookTargetRefused)) throw error;
        throw new InvalidError(
          `url: ${error.message}`,
          [{ pointer: "/url", in: "body", detail: error.message }],
          {
            cause: error,
          },
        );
      }
      const id = uuidv7();
      const secret = generateSigningSecret();
      const webhook = await webhooks.insertWithinLimit(
        {
          id,
          userId,
          url: url.href,
          eventTypes: [...new Set(input.eventTypes)],
          description: input.description ?? null,
          sealedSecret: deps.secretBox.seal(secret, id),
        },
        deps.maxPerUser,
      );
      if (!webhook) {
        // The same answer as task-api's quotas (422 quota-exceeded, naming quota and limit).
        throw new QuotaExceededError(
          "webhooks",
          deps.maxPerUser,
          `You have reached the limit of ${deps.maxPerUser} webhooks per user; delete one you no longer need (DELETE /v1/webhooks/:id), then try again.`,
        );
      }
      return { webhook, secret };
    },

    list: (userId, afterId, limit) => webhooks.findPage(userId, afterId, limit),

    get: owned,

    async remove(userId, id) {
      if (!(await webhooks.delete(userId, id))) throw new NotFoundError("Webhook");
    },

    async deliveries(userId, webhookId, filter, after, limit) {
      await owned(userId, webhookId);
      return webhooks.findDeliveryPage(webhookId, filter, after, limit);
    },
  };
}
