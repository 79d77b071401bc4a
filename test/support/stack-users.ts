import { randomUUID } from "node:crypto";
import { expect } from "vitest";

export interface StackUser {
  id: string;
  /** Session token (bearer plugin). */
  sessionToken: string;
  /** 15-minute JWT access token. */
  token: string;
  /** `authorization` header with the access token. */
  auth: { authorization: string };
}

/**
 * Signs a new user up through a running task-api's auth endpoints (unique email each call) and
 * trades the session for a JWT access token, as a client of the stack would.
 */
export async function signUpThroughTaskApi(
  api: string,
  options: { name?: string; timeZone?: string } = {},
): Promise<StackUser> {
  const signUp = await fetch(`${api}/api/auth/sign-up/email`, {
    method: "POST",
    // Better Auth checks the Origin against task-api's PUBLIC_URL (http://localhost:<port> in a stack).
    headers: { "content-type": "application/json", origin: `http://localhost:${new URL(api).port}` },
    body: JSON.stringify({
      email: `user-${randomUUID()}@example.com`,
      password: "correct-horse-battery",
      name: options.name ?? "Stack User",
      ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    }),
  });
  const text = await signUp.text();
  expect(signUp.status, text).toBe(200);
  const id = (JSON.parse(text) as { user: { id: string } }).user.id;
  const sessionToken = signUp.headers.get("set-auth-token") ?? "";
  const tokenResponse = await fetch(`${api}/api/auth/token`, {
    headers: { authorization: `Bearer ${sessionToken}` },
  });
  const tokenText = await tokenResponse.text();
  expect(tokenResponse.status, tokenText).toBe(200);
  const { token } = JSON.parse(tokenText) as { token: string };
  return { id, sessionToken, token, auth: { authorization: `Bearer ${token}` } };
}
