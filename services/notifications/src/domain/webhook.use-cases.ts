import { InvalidError, NotFoundError, QuotaExceededError } from "@taskmesh/core";
import { v7 as uuidv7 } from "uuid";
import type {
  Page,
  WebhookDeliveryView,
  WebhookRepository,
  WebhookView,
} from "../data/webhook.repository.ts";
import { generateSigningSecret, type SecretBox } from "./webhook-signing.ts";
import { WebhookTargetRefused, type WebhookTargetGuard } from "./webhook-target.guard.ts";

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
