import { createWorkerLoop, type Logger } from "@taskmesh/core";
import type {
  AttemptResult,
  ClaimedDelivery,
  WebhookDeliveryRepository,
} from "../data/webhook-delivery.repository.ts";
import type { WebhookSender } from "../data/webhook-sender.ts";
import { signPayload, type SecretBox } from "../domain/webhook-signing.ts";
import { WebhookTargetRefused, type WebhookTargetGuard } from "../domain/webhook-target.guard.ts";

/** What receivers get: the CloudEvent in structured mode (CloudEvents HTTP binding). */
export const WEBHOOK_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8";
export const WEBHOOK_USER_AGENT = "taskmesh-webhooks/1.0";

const MAX_DELAY_MS = 24 * 60 * 60 * 1000;
const BACKOFF_FACTOR = 5;

/**
 * The delay before attempt `failedAttempts + 1`: base * 5^(failedAttempts - 1), ±20% jitter so
 * deliveries that failed together do not come back together, at most a day. With the defaults
 * (5 s, 8 attempts): 5 s, 25 s, 2 min, 10 min, 52 min, 4.3 h, 21.7 h; failed after ~27 h.
 * A Retry-After from the receiver lengthens the delay, never shortens it.
 */
export function retryDelayMs(
  failedAttempts: number,
  baseMs: number,
  random: () => number = Math.random,
  retryAfterSeconds?: number,
): number {
  const exponential = baseMs * BACKOFF_FACTOR ** Math.max(0, failedAttempts - 1);
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.min(MAX_DELAY_MS, Math.max(jittered, (retryAfterSeconds ?? 0) * 1000));
}

export interface WebhookDeliverySettings {
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
  concurrency: number;
}

export interface WebhookDeliveryWorkerDeps {
  deliveries: WebhookDeliveryRepository;
  guard: WebhookTargetGuard;
  secretBox: SecretBox;
  send: WebhookSender;
  logger: Logger;
  settings: WebhookDeliverySettings;
  now?: () => number;
  random?: () => number;
}

export interface WebhookDeliveryWorker {
  start(): void;
  /** New deliveries were queued: look now instead of at the next poll. */
  notify(): void;
  /** Stops claiming, aborts attempts in flight and gives them back unattempted. */
  stop(): Promise<void>;
}

class StopRequested extends Error {}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}

/**
 * Sends queued deliveries: claims due rows (several replicas never claim the same one), signs
 * each attempt per Standard Webhooks, checks the target against the SSRF guard again (its DNS
 * may have changed since registration) and connects to the address it checked. 2xx succeeds;
 * anything else is retried with backoff until `maxAttempts`, then failed. 410 Gone and a
 * target that is now refused fail at once.
 */
export function createWebhookDeliveryWorker(deps: WebhookDeliveryWorkerDeps): WebhookDeliveryWorker {
  const { deliveries, logger, settings } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  // The claim outlives any attempt (resolution and request both bounded by timeoutMs).
  const leaseMs = 2 * settings.timeoutMs + 30_000;
  const inFlight = new Set<Promise<void>>();
  const abort = new AbortController();
  let retryTimer: { at: number; timer: NodeJS.Timeout } | undefined;

  const loop = createWorkerLoop({
    async round() {
      const free = settings.concurrency - inFlight.size;
      if (free <= 0) return settings.pollIntervalMs;
      try {
        const claims = await deliveries.claimDue(free, leaseMs);
        for (const claim of claims) {
          const task: Promise<void> = run(claim).finally(() => {
            inFlight.delete(task);
            notify();
          });
          inFlight.add(task);
        }
        // A full batch may mean more are due: claim again at once.
        return claims.length === free ? 0 : settings.pollIntervalMs;
      } catch (error) {
        logger.warn({ err: error }, "claiming webhook deliveries failed");
        return settings.pollIntervalMs;
      }
    },
  });

  function notify(): void {
    loop.wake();
  }

  function wakeAt(delayMs: number): void {
    const at = now() + delayMs;
    if (retryTimer && retryTimer.at <= at) return;
    if (retryTimer) clearTimeout(retryTimer.timer);
    const timer = setTimeout(() => {
      retryTimer = undefined;
      notify();
    }, delayMs + 5);
    timer.unref();
    retryTimer = { at, timer };
  }

  function withDeadline<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no answer within ${settings.timeoutMs} ms`));
      }, settings.timeoutMs);
      const onAbort = () => {
        reject(new StopRequested());
      };
      abort.signal.addEventListener("abort", onAbort, { once: true });
      promise.then(resolve, reject).finally(() => {
        clearTimeout(timer);
        abort.signal.removeEventListener("abort", onAbort);
      });
    });
  }

  function afterFailure(
    claim: ClaimedDelivery,
    statusCode: number | null,
    error: string,
    retryAfter?: number,
  ) {
    const attempt = claim.attempts + 1;
    if (attempt >= settings.maxAttempts) {
      return {
        outcome: "failed",
        statusCode,
        error: `${error} (gave up after ${attempt} attempt${attempt === 1 ? "" : "s"})`,
      } as const;
    }
    const delayMs = retryDelayMs(attempt, settings.retryBaseMs, random, retryAfter);
    return { outcome: "retry", statusCode, error, delayMs } as const;
  }

  async function attempt(claim: ClaimedDelivery): Promise<AttemptResult | "released"> {
    try {
      const target = await withDeadline(deps.guard.check(claim.url));
      const secret = deps.secretBox.open(claim.sealedSecret, claim.webhookId);
      const body = JSON.stringify(claim.payload);
      const timestamp = Math.floor(now() / 1000);
      const response = await deps.send({
        target,
        body,
        timeoutMs: settings.timeoutMs,
        signal: abort.signal,
        headers: {
          "content-type": WEBHOOK_CONTENT_TYPE,
          "user-agent": WEBHOOK_USER_AGENT,
          "webhook-id": claim.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signPayload(secret, claim.id, timestamp, body),
        },
      });
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { outcome: "succeeded", statusCode: status };
      const error = `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ""}`;
      if (status === 410) {
        return { outcome: "failed", statusCode: status, error: `${error}: the receiver asked for no more` };
      }
      return afterFailure(claim, status, error, response.retryAfterSeconds);
    } catch (error) {
      if (abort.signal.aborted) return "released";
      if (error instanceof WebhookTargetRefused && error.reason !== "unresolvable") {
        return { outcome: "failed", statusCode: null, error: `refused: the URL ${error.message}` };
      }
      return afterFailure(claim, null, describe(error));
    }
  }

  async function run(claim: ClaimedDelivery): Promise<void> {
    const result = await attempt(claim);
    try {
      if (result === "released") {
        await deliveries.release(claim);
        return;
      }
      const recorded = await deliveries.record(claim, result);
      const log = {
        deliveryId: claim.id,
        webhookId: claim.webhookId,
        eventId: claim.eventId,
        attempt: claim.attempts + 1,
      };
      if (!recorded) logger.warn(log, "webhook delivery claim expired before its result was recorded");
      else if (result.outcome === "succeeded")
        logger.debug({ ...log, statusCode: result.statusCode }, "webhook delivered");
      else if (result.outcome === "retry") {
        logger.info(
          { ...log, error: result.error, delayMs: Math.round(result.delayMs) },
          "webhook attempt failed; will retry",
        );
        wakeAt(result.delayMs);
      } else logger.warn({ ...log, error: result.error }, "webhook delivery failed");
    } catch (error) {
      // The lease runs out and the delivery is attempted again.
      logger.warn({ err: error, deliveryId: claim.id }, "recording a webhook attempt failed");
    }
  }

  return {
    start() {
      loop.start();
    },
    notify,
    async stop() {
      abort.abort();
      if (retryTimer) clearTimeout(retryTimer.timer);
      await loop.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}
