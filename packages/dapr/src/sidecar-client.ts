import {
  CommunicationProtocolEnum,
  DaprClient,
  LogLevel,
  StateConcurrencyEnum,
  StateConsistencyEnum,
} from "@dapr/dapr";
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

/**
 * The SDK logs every failed call itself (to the console, daprd's error text included, and at
 * debug level every request's headers with the dapr-api-token). The port throws those failures
 * with their cause for the caller's logger instead, so the SDK's own logger stays silent.
 */
const ignore = (): void => undefined;
const SILENT_SDK_LOGGER = {
  level: LogLevel.Error,
  service: { error: ignore, warn: ignore, info: ignore, verbose: ignore, debug: ignore },
};

/** daprd's answer to a stale etag (409, or a 500 from stores that report it as a failed save). */
function isConflict(status: number | undefined, text: string): boolean {
  return status === 409 || (status === 500 && /etag|ERR_STATE_SAVE.*(mismatch|conflict)/i.test(text));
}

/** What a failed SDK call says: the HTTP status and daprd's answer, when daprd answered. */
function sdkFailure(error: unknown): { status: number | undefined; text: string } {
  const message = error instanceof Error ? error.message : String(error);
  try {
    const parsed = JSON.parse(message) as { status?: unknown; error_msg?: unknown };
    if (typeof parsed.status === "number")
      return { status: parsed.status, text: typeof parsed.error_msg === "string" ? parsed.error_msg : "" };
  } catch {
    // Not an answer of daprd (connection refused, reset, ...): no status.
  }
  return { status: undefined, text: message };
}

/**
 * Builds a SidecarClient for the daprd at `baseUrl`: publish, state saves and deletes through
 * @dapr/dapr's DaprClient over HTTP; bulk publish, invocation and state reads through fetch,
 * where the SDK loses what callers need (the README's "Dapr SDK" section has the reasons and
 * the figures).
 */
export function createSidecarClient(options: SidecarClientOptions): SidecarClient {
  const base = options.baseUrl.replace(/\/$/, "");
  const timeoutMs = options.timeoutMs ?? 10_000;
  const tokenHeader: Record<string, string> = options.apiToken ? { "dapr-api-token": options.apiToken } : {};
  const url = new URL(base);
  const sdk = new DaprClient({
    daprHost: `${url.protocol}//${url.hostname}`,
    daprPort: url.port || (url.protocol === "https:" ? "443" : "80"),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    // "" and not undefined: the SDK would fall back to process.env.DAPR_API_TOKEN.
    daprApiToken: options.apiToken ?? "",
    logger: SILENT_SDK_LOGGER,
  });
  // Without this the first call waits up to 30 s for daprd to answer GET /v1.0/metadata (the
  // SDK's start()): a request would hang instead of failing at once with a 503 the caller retries.
  sdk.daprClient.setIsInitialized(true);

  /**
   * An SDK call bounded by the timeout (the SDK has none and cannot be aborted: the request
   * itself ends when daprd answers, which its resiliency policy's own timeouts bound). Any
   * rejection is the sidecar being unavailable.
   */
  async function bounded<T>(what: string, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(sidecarUnavailable(`${what}: no answer from the Dapr sidecar within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([work(), timeout]);
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw failed(what, error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** An SDK failure as the port reports it: a stale etag is a conflict, anything else transient. */
  function failed(what: string, error: unknown): Error {
    const { status, text } = sdkFailure(error);
    if (isConflict(status, text)) return new StateConflictError(`${what}: ${text}`);
    if (status === undefined) return sidecarUnavailable(`${what}: the Dapr sidecar is unreachable`, error);
    return sidecarUnavailable(`${what} failed: HTTP ${status} ${text.slice(0, 500)}`);
  }

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

  const segment = encodeURIComponent;

  return {
    async publish(pubsub, topic, event, publishOptions = {}) {
      const what = `publish to ${topic}`;
      // Over HTTP the SDK answers a failed publish as { error } instead of rejecting.
      const result = await bounded(what, () =>
        sdk.pubsub.publish(segment(pubsub), segment(topic), event, {
          contentType: CLOUDEVENT_CONTENT_TYPE,
          ...(publishOptions.partitionKey
            ? { metadata: { [PARTITION_KEY_METADATA]: publishOptions.partitionKey } }
            : {}),
        }),
      );
      if (result.error) throw failed(what, result.error);
    },

    // fetch, not the SDK: the SDK's publishBulk reports no failure when daprd names failed
    // entries (it looks them up as `entryID`, daprd answers `entryId`), and over gRPC it drops
    // each entry's metadata, the partition key.
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
      const failedEntries = parseFailedEntries(text);
      if (failedEntries) return failedEntries;
      throw sidecarUnavailable(
        `bulk publish to ${topic} failed: HTTP ${response.status} ${text.slice(0, 500)}`,
      );
    },

    // fetch, not the SDK: callers need the Response (201 vs 200, Retry-After, the problem
    // body as sent); the SDK answers only the parsed body, and over gRPC drops the headers.
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

    // fetch, not the SDK: its state.get drops the etag daprd sends, and its getBulk (which
    // keeps it) costs daprd more: 0.63x the calls/s at 16 in flight (README, "Dapr SDK").
    async getState<T>(store: string, key: string): Promise<StateEntry<T> | undefined> {
      const response = await call(`/v1.0/state/${segment(store)}/${segment(key)}`, { method: "GET" });
      if (response.status === 204) return undefined;
      if (!response.ok) {
        const text = await response.text();
        if (isConflict(response.status, text)) throw new StateConflictError(`read state ${key}: ${text}`);
        throw sidecarUnavailable(`read state ${key} failed: HTTP ${response.status} ${text.slice(0, 500)}`);
      }
      const text = await response.text();
      if (text === "") return undefined;
      return { value: JSON.parse(text) as T, etag: response.headers.get("etag") ?? undefined };
    },

    async saveState(store, items) {
      const what = `save state ${items.map((i) => i.key).join(",")}`;
      const result = await bounded(what, () =>
        sdk.state.save(
          segment(store),
          items.map((item) => ({
            key: item.key,
            value: item.value,
            ...(item.etag === undefined
              ? {}
              : {
                  etag: item.etag,
                  options: {
                    concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE,
                    consistency: StateConsistencyEnum.CONSISTENCY_UNSPECIFIED,
                  },
                }),
            ...(item.ttlInSeconds === undefined
              ? {}
              : { metadata: { ttlInSeconds: String(item.ttlInSeconds) } }),
          })),
        ),
      );
      if (result.error) throw failed(what, result.error);
    },

    async deleteState(store, key, etag) {
      const what = `delete state ${key}`;
      // The SDK puts the key into the path as it is.
      const result = await bounded(what, () =>
        sdk.state.delete(segment(store), segment(key), etag === undefined ? {} : { etag }),
      );
      if (result.error) throw failed(what, result.error);
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
