import type { AddressInfo } from "node:net";
import {
  createBearerVerifier,
  jwksFromUrl,
  tokenIntrospectionSchema,
  type BearerVerifier,
  type Introspect,
} from "@taskmesh/auth";
import { startTaskApi, TEST_PUBLIC_URL, type TestTaskApi } from "../support/task-api.ts";

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
 * notifications' verifier as main.ts builds it (JWTs against task-api's JWKS; session tokens and
 * PATs introspected at task-api), reaching the in-process task-api over HTTP as its sidecar
 * would deliver the call: app token and caller id `notifications`.
 */
export function notificationsVerifier(taskApi: TestTaskApi): BearerVerifier {
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
  return createBearerVerifier({
    jwks: jwksFromUrl(`${base}/api/auth/jwks`),
    issuer: TEST_PUBLIC_URL,
    audience: "taskmesh",
    acceptSessionTokens: true,
    introspect,
  });
}
