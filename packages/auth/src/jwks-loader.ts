import { UnavailableError } from "@taskmesh/core";
import type { SidecarClient } from "@taskmesh/dapr";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";

/** task-api's app id and the path of its public keys (Better Auth's jwt plugin). */
export const TASK_API_APP_ID = "task-api";
export const TASK_API_JWKS_PATH = "api/auth/jwks";

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

async function parseJwks(response: Response, where: string): Promise<JSONWebKeySet> {
  if (!response.ok) {
    await response.body?.cancel();
    throw new UnavailableError(`loading the JWKS from ${where} failed: HTTP ${response.status}`, 5);
  }
  const parsed = jwksSchema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new UnavailableError(`${where} answered something that is not a JWKS`, 5);
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
      throw new UnavailableError(`the JWKS at ${url} is unreachable`, 5, { cause: error });
    }
    return parseJwks(response, url);
  };
}
