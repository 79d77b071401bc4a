import { UnavailableError, type Logger } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";

/** task-api's app id and the path of its public keys (Better Auth's jwt plugin). */
export const TASK_API_APP_ID = "task-api";
export const TASK_API_JWKS_PATH = "api/auth/jwks";

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

/**
 * What a client reads when the keys are not there: what to do, never where they come from (the
 * internal host, app id or upstream status is in `cause`, which only the logs see).
 */
export const KEYS_UNAVAILABLE_DETAIL =
  "Access tokens cannot be checked right now; try again in a few seconds.";
const KEYS_RETRY_AFTER_SECONDS = 2;

function keysUnavailable(why: string, cause?: unknown): UnavailableError {
  return new UnavailableError(KEYS_UNAVAILABLE_DETAIL, KEYS_RETRY_AFTER_SECONDS, {
    cause: new Error(why, cause === undefined ? undefined : { cause }),
  });
}

async function parseJwks(response: Response, where: string): Promise<JSONWebKeySet> {
  if (!response.ok) {
    await response.body?.cancel();
    throw keysUnavailable(`loading the JWKS from ${where} failed: HTTP ${response.status}`);
  }
  const parsed = jwksSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw keysUnavailable(`${where} answered something that is not a JWKS`);
  return parsed.data;
}

/**
 * Loads task-api's JWKS by service invocation through the caller's own sidecar, so a service
 * never needs task-api's address. For createAccessTokenVerifier's `loadJwks` (which caches).
 */
export function jwksFromSidecar(
  sidecar: Pick<SidecarClient, "invoke">,
  target: { appId?: string; path?: string } = {},
): () => Promise<JSONWebKeySet> {
  const appId = target.appId ?? TASK_API_APP_ID;
  return async () =>
    parseJwks(await sidecar.invoke(appId, target.path ?? TASK_API_JWKS_PATH), `app ${appId}`);
}

/** Loads a JWKS over plain HTTP (a task-api reached directly, e.g. in component tests). */
export function jwksFromUrl(url: string, timeoutMs = 5000): () => Promise<JSONWebKeySet> {
  return async () => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw keysUnavailable(`the JWKS at ${url} is unreachable`, error);
    }
    return parseJwks(response, url);
  };
}

/** A JWKS loader that keeps the last keys and loads them at start, retrying until it has them. */
export interface PreloadedJwks {
  /** For the verifier's `loadJwks`: one load at a time; the last good keys while the source fails. */
  (): Promise<JSONWebKeySet>;
  /** True once keys have been loaded. */
  readonly loaded: boolean;
  /** A readiness check: resolves once the keys are loaded, rejects (and keeps retrying) before. */
  check(): Promise<void>;
  /** Starts loading in the background: retries with a short backoff until the keys are loaded. */
  start(): void;
  /** Stops the background retries. */
  stop(): void;
}

export interface PreloadJwksOptions {
  logger?: Pick<Logger, "info" | "warn">;
  /** First delay after a failed load; doubles up to maxDelayMs (each with up to 20 % jitter). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * A service that verifies another's tokens depends on its keys: loads them at start and keeps
 * trying (200 ms doubling to 2 s by default) until it has them, so readiness (`check`) says
 * when requests can be served and the service recovers by itself when the key owner or the
 * sidecars come up after it. While a load fails and no keys were ever loaded, callers get an
 * UnavailableError that says to retry in a few seconds; once loaded, a failing refresh (key
 * rotation) keeps serving the last keys instead of failing requests.
 */
export function preloadJwks(
  load: () => Promise<JSONWebKeySet>,
  options: PreloadJwksOptions = {},
): PreloadedJwks {
  const minDelayMs = options.minDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 2000;
  let keys: JSONWebKeySet | undefined;
  let inFlight: Promise<JSONWebKeySet> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let failures = 0;

  function loadOnce(): Promise<JSONWebKeySet> {
    inFlight ??= load()
      .then((loaded) => {
        if (keys === undefined) options.logger?.info({ failures }, "signing keys loaded");
        keys = loaded;
        failures = 0;
        return loaded;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  function schedule(): void {
    if (!running || keys !== undefined || timer !== undefined) return;
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(failures, 10));
    const delay = base * (0.8 + Math.random() * 0.4);
    timer = setTimeout(() => {
      timer = undefined;
      attempt();
    }, delay);
    timer.unref();
  }

  function attempt(): void {
    loadOnce().then(
      () => undefined,
      (err: unknown) => {
        failures++;
        // The first failures are expected while the key owner and the sidecars start.
        if (failures === 5 || failures % 30 === 0)
          options.logger?.warn({ err, failures }, "signing keys not loaded yet; retrying");
        schedule();
      },
    );
  }

  const jwks = async (): Promise<JSONWebKeySet> => {
    try {
      return await loadOnce();
    } catch (error) {
      if (keys !== undefined) return keys;
      schedule();
      throw error instanceof UnavailableError ? error : keysUnavailable("loading the JWKS failed", error);
    }
  };
  // Object.assign would copy the getter's value once; `loaded` must stay live.
  Object.defineProperty(jwks, "loaded", { get: () => keys !== undefined, enumerable: true });
  return Object.assign(jwks as typeof jwks & { readonly loaded: boolean }, {
    check(): Promise<void> {
      if (keys !== undefined) return Promise.resolve();
      return Promise.reject(new Error("signing keys not loaded yet"));
    },
    start(): void {
      if (running) return;
      running = true;
      if (keys === undefined) attempt();
    },
    stop(): void {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  });
}
