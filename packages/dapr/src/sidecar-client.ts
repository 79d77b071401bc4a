import { UnavailableError } from "@taskmesh/core";
import { CLOUDEVENT_CONTENT_TYPE, PARTITION_KEY_METADATA, type CloudEvent } from "@taskmesh/contracts";

/**
 * The one way taskmesh code talks to its own Dapr sidecar (daprd's HTTP API on localhost).
 * Apps never call each other's ports: publish, invoke and state all go through here.
 *
 * Every failure to reach the sidecar, or a 5xx from it, is an UnavailableError: callers treat
 * it as transient (RETRY an event, 503 a request, back off a relay). Its message is
 * SIDECAR_UNAVAILABLE_DETAIL, safe to show to anyone; what failed where (the operation, daprd's
 * status and its error text, which name components, app ids and hosts) is in its `cause`, which
 * only the logs see.
 */
export interface SidecarClient {
  /** Publishes one CloudEvent (structured mode) with its partition key. */
  publish(pubsub: string, topic: string, event: CloudEvent<unknown>, options?: PublishOptions): Promise<void>;
  /**
   * Publishes many events in one call (`/v1.0-alpha1/publish/bulk`). Returns the entry ids the
   * broker did not take (empty when all were published).
   */
  bulkPublish(
    pubsub: string,
    topic: string,
    entries: readonly BulkPublishEntry[],
  ): Promise<BulkPublishFailure[]>;
  /** Service invocation: `method` is the path on the target app, e.g. "v1/tasks/123". */
  invoke(appId: string, method: string, request?: InvokeRequest): Promise<Response>;
  getState<T = unknown>(store: string, key: string): Promise<StateEntry<T> | undefined>;
  /** Saves with first-write-wins when an etag is given (a stale etag is a StateConflictError). */
  saveState(store: string, items: readonly StateItem[]): Promise<void>;
  deleteState(store: string, key: string, etag?: string): Promise<void>;
}

export interface PublishOptions {
  /** Kafka partition key: events with the same key keep their order. */
  partitionKey?: string;
}

export interface BulkPublishEntry {
  /** Unique within the call; failures are reported by it. */
  entryId: string;
  event: CloudEvent<unknown>;
  partitionKey?: string;
}

export interface BulkPublishFailure {
  entryId: string;
  error: string;
}

export interface InvokeRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Raw query string without "?". */
  query?: string;
}

export interface StateEntry<T> {
  value: T;
  etag: string | undefined;
}

export interface StateItem {
  key: string;
  value: unknown;
  /** Only save when the stored item still has this etag. */
  etag?: string;
  /** Dapr removes the item after this many seconds. */
  ttlInSeconds?: number;
}

/** The state item changed since it was read (etag mismatch), or a first write lost. */
export class StateConflictError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateConflictError";
  }
}

export interface SidecarClientOptions {
  /** daprd's HTTP API, e.g. http://127.0.0.1:3500 */
  baseUrl: string;
  /** DAPR_API_TOKEN: sent as dapr-api-token when the sidecar requires it. */
  apiToken?: string | undefined;
  /** Per call; the sidecar's own resiliency policy may retry within it. */
  timeoutMs?: number;
}

const RETRY_AFTER_SECONDS = 1;

/** What a client reads when a call through the sidecar failed: what to do, nothing internal. */
export const SIDECAR_UNAVAILABLE_DETAIL =
  "A service this request needs is briefly unavailable; try again in a few seconds.";

/** An UnavailableError with the public detail; `why` (and the upstream error) only in its cause. */
function sidecarUnavailable(why: string, cause?: unknown): UnavailableError {
  return new UnavailableError(SIDECAR_UNAVAILABLE_DETAIL, RETRY_AFTER_SECONDS, {
    cause: new Error(why, cause === undefined ? undefined : { cause }),
  });
}

/** The client of this pod's daprd from a service's config (sidecarConfigFields of @taskmesh/core). */
export function sidecarClientFromConfig(
  config: { DAPR_HTTP_PORT: number; DAPR_API_TOKEN?: string | undefined },
  options: { timeoutMs?: number } = {},
): SidecarClient {
  return createSidecarClient({
    baseUrl: `http://127.0.0.1:${config.DAPR_HTTP_PORT}`,
    apiToken: config.DAPR_API_TOKEN,
    ...options,
  });
}

/** Builds a SidecarClient for the daprd at `baseUrl`. */
export function createSidecarClient(options: SidecarClientOptions): SidecarClient {
  const base = options.baseUrl.replace(/\/$/, "");
  const timeoutMs = options.timeoutMs ?? 10_000;
  const tokenHeader: Record<string, string> = options.apiToken ? { "dapr-api-token": options.apiToken } : {};

  async function call(
    path: string,
    init: Omit<RequestInit, "headers"> & { headers?: Record<string, string> },
  ): Promise<Response> {
    try {
      return await fetch(`${base}${path}`, {
        ...init,
        headers: { ...tokenHeader, ...init.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw sidecarUnavailable("the Dapr sidecar is unreachable", error);
    }
  }

  async function expectOk(response: Response, what: string): Promise<void> {
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = await response.text();
    if (
      response.status === 409 ||
      (response.status === 500 && /etag|ERR_STATE_SAVE.*(mismatch|conflict)/i.test(text))
    )
      throw new StateConflictError(`${what}: ${text}`);
    throw sidecarUnavailable(`${what} failed: HTTP ${response.status} ${text.slice(0, 500)}`);
  }

  const segment = encodeURIComponent;

  return {
    async publish(pubsub, topic, event, publishOptions = {}) {
      const query = publishOptions.partitionKey
        ? `?metadata.${PARTITION_KEY_METADATA}=${segment(publishOptions.partitionKey)}`
        : "";
      const response = await call(`/v1.0/publish/${segment(pubsub)}/${segment(topic)}${query}`, {
        method: "POST",
        headers: { "content-type": CLOUDEVENT_CONTENT_TYPE },
        body: JSON.stringify(event),
      });
      await expectOk(response, `publish to ${topic}`);
    },

    async bulkPublish(pubsub, topic, entries) {
      if (entries.length === 0) return [];
      const response = await call(`/v1.0-alpha1/publish/bulk/${segment(pubsub)}/${segment(topic)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          entries.map((entry) => ({
            entryId: entry.entryId,
            event: entry.event,
            contentType: CLOUDEVENT_CONTENT_TYPE,
            ...(entry.partitionKey ? { metadata: { [PARTITION_KEY_METADATA]: entry.partitionKey } } : {}),
          })),
        ),
      });
      if (response.ok) {
        await response.body?.cancel();
        return [];
      }
      const text = await response.text();
      // A partial failure names the entries that did not make it; anything else failed as a whole.
      const failed = parseFailedEntries(text);
      if (failed) return failed;
      throw sidecarUnavailable(
        `bulk publish to ${topic} failed: HTTP ${response.status} ${text.slice(0, 500)}`,
      );
    },

    async invoke(appId, method, request = {}) {
      const path = `/v1.0/invoke/${segment(appId)}/method/${method.replace(/^\//, "")}${request.query ? `?${request.query}` : ""}`;
      const headers: Record<string, string> = { ...request.headers };
      const init: Omit<RequestInit, "headers"> & { headers: Record<string, string> } = {
        method: request.method ?? "GET",
        headers,
      };
      if (request.body !== undefined) {
        headers["content-type"] = "application/json";
        init.body = JSON.stringify(request.body);
      }
      return call(path, init);
    },

    async getState<T>(store: string, key: string): Promise<StateEntry<T> | undefined> {
      const response = await call(`/v1.0/state/${segment(store)}/${segment(key)}`, { method: "GET" });
      if (response.status === 204) return undefined;
      if (!response.ok) {
        await expectOk(response, `read state ${key}`);
        return undefined;
      }
      const text = await response.text();
      if (text === "") return undefined;
      return { value: JSON.parse(text) as T, etag: response.headers.get("etag") ?? undefined };
    },

    async saveState(store, items) {
      const response = await call(`/v1.0/state/${segment(store)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(
          items.map((item) => ({
            key: item.key,
            value: item.value,
            ...(item.etag === undefined ? {} : { etag: item.etag, options: { concurrency: "first-write" } }),
            ...(item.ttlInSeconds === undefined
              ? {}
              : { metadata: { ttlInSeconds: String(item.ttlInSeconds) } }),
          })),
        ),
      });
      await expectOk(response, `save state ${items.map((i) => i.key).join(",")}`);
    },

    async deleteState(store, key, etag) {
      const response = await call(`/v1.0/state/${segment(store)}/${segment(key)}`, {
        method: "DELETE",
        headers: etag === undefined ? {} : { "if-match": etag },
      });
      await expectOk(response, `delete state ${key}`);
    },
  };
}

function parseFailedEntries(text: string): BulkPublishFailure[] | undefined {
  try {
    const body = JSON.parse(text) as { failedEntries?: { entryId?: unknown; error?: unknown }[] };
    if (!Array.isArray(body.failedEntries) || body.failedEntries.length === 0) return undefined;
    return body.failedEntries.map((entry) => ({
      entryId: String(entry.entryId),
      error: typeof entry.error === "string" ? entry.error : JSON.stringify(entry.error),
    }));
  } catch {
    return undefined;
  }
}
