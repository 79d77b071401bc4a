import type { Logger } from "@taskmesh/core";
import type { PrismaClient } from "@taskmesh/db";
import type { WebhookPlugin } from "./app.ts";
import { createWebhookDeliveryRepository } from "./data/webhook-delivery.repository.ts";
import { sendWebhook, type WebhookSender } from "./data/webhook-sender.ts";
import { createWebhookRepository } from "./data/webhook.repository.ts";
import {
  createWebhookDeliveryWorker,
  type WebhookDeliveryWorker,
} from "./workers/webhook-delivery.worker.ts";
import { createSecretBox } from "./domain/webhook-signing.ts";
import { createWebhookTargetGuard, type HostResolver } from "./domain/webhook-target.guard.ts";
import { createWebhookUseCases } from "./domain/webhook.use-cases.ts";
import { createWebhookFanOut } from "./events/webhook-fanout.ts";
import { webhookRoutes } from "./http/webhook.routes.ts";
import type { WebhookSettings } from "./webhook.config.ts";

export interface WebhookModuleDeps {
  prisma: PrismaClient;
  logger: Logger;
  settings: WebhookSettings;
  /** Defaults to dns.lookup (all addresses). */
  resolve?: HostResolver;
  /** Defaults to node:http(s) pinned to the checked address. */
  send?: WebhookSender;
}

export interface WebhookModule {
  /** For createApp: the /v1/webhooks routes and the event fan-out. */
  plugin: Required<WebhookPlugin>;
  /** main.ts starts it after listening and stops it on shutdown. */
  worker: WebhookDeliveryWorker;
}

/** Wires webhooks: registration API, fan-out of consumed events, and the delivery worker. */
export function createWebhookModule(deps: WebhookModuleDeps): WebhookModule {
  const { settings } = deps;
  const guard = createWebhookTargetGuard({
    allowPrivateTargets: settings.allowPrivateTargets,
    allowedPorts: settings.allowedPorts,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  });
  const secretBox = createSecretBox(settings.secretKey);
  const deliveries = createWebhookDeliveryRepository(deps.prisma);
  const worker = createWebhookDeliveryWorker({
    deliveries,
    guard,
    secretBox,
    send: deps.send ?? sendWebhook,
    logger: deps.logger.child({ component: "webhook-delivery" }),
    settings,
  });
  const fanOut = createWebhookFanOut({
    deliveries,
    onQueued: () => {
      worker.notify();
    },
  });
  const useCases = createWebhookUseCases({
    webhooks: createWebhookRepository(deps.prisma),
    guard,
    secretBox,
    maxPerUser: settings.maxPerUser,
  });
  return {
    plugin: {
      router: webhookRoutes(useCases),
      fanOut: async (event) => {
        await fanOut(event);
      },
    },
    worker,
  };
}
