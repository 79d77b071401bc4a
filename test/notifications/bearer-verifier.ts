import type { AddressInfo } from "node:net";
import {
  jwksFromUrl,
  preloadJwks,
  tokenIntrospectionSchema,
  type Introspect,
  type PreloadedJwks,
} from "@taskmesh/auth";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

/** What task-api's sidecar would send it: the in-process task-api trusts it for introspection. */
const TASK_API_APP_TOKEN = "task-api-app-token-for-notifications-tests";

/** A real task-api that lets app `notifications` introspect tokens (as its default config does). */
export function startTaskApiForNotifications(): Promise<TestTaskApi> {
  return startTaskApi({
    trustedCallers: { appApiToken: TASK_API_APP_TOKEN, appIds: [] },
    introspectionCallerAppIds: ["notifications"],
  });
}

/**
 * What notifications' verifier checks tokens with, reaching the in-process task-api over HTTP
 * as its sidecar would deliver the call: task-api's keys (preloaded, as compose.ts does through
 * the sidecar) and introspection of session tokens and PATs with app token and caller id
 * `notifications`. composeNotifications builds the verifier from them as in production.
 */
export function notificationsKeys(taskApi: TestTaskApi): { jwks: PreloadedJwks; introspect: Introspect } {
  const base = `http://127.0.0.1:${(taskApi.server.address() as AddressInfo).port}`;
  const introspect: Introspect = async (token) => {
    const response = await fetch(`${base}/internal/tokens/introspect`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "dapr-api-token": TASK_API_APP_TOKEN,
        "dapr-caller-app-id": "notifications",
      },
      body: JSON.stringify({ token }),
    });
    if (!response.ok) throw new Error(`introspection answered ${response.status}`);
    return tokenIntrospectionSchema.parse(await response.json());
  };
  return { jwks: preloadJwks(jwksFromUrl(`${base}/api/auth/jwks`)), introspect };
}
