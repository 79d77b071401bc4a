import { randomUUID } from "node:crypto";
import { EVENT_TYPES, newEvent, type UserDeletedEvent } from "@taskmesh/contracts";
import type supertest from "supertest";

type Request = ReturnType<typeof supertest>;

/** POSTs one CloudEvent to a subscription route as daprd does (structured mode, with the app token); returns the status answered. */
export async function deliverCloudEvent(
  request: Request,
  route: string,
  appToken: string,
  event: unknown,
): Promise<string> {
  const res = await request
    .post(route)
    .set("dapr-api-token", appToken)
    .set("content-type", "application/cloudevents+json")
    .send(JSON.stringify(event))
    .expect(200);
  return (res.body as { status: string }).status;
}

/** POSTs one CloudEvent without the sidecar's app token and expects the 401. */
export async function deliverWithoutAppToken(request: Request, route: string, event: unknown): Promise<void> {
  await request
    .post(route)
    .set("content-type", "application/cloudevents+json")
    .send(JSON.stringify(event))
    .expect(401);
}

/** A valid user.deleted event as task-api publishes it. */
export function userDeleted(userId: string, id: string = randomUUID()): UserDeletedEvent {
  return newEvent(
    EVENT_TYPES.userDeleted,
    { userId, occurredAt: "2026-11-23T12:00:00.000Z", actor: { kind: "user", id: userId } },
    { id },
  );
}

/**
 * Messages a user-events route must drop: not CloudEvents, `otherTypes` (known types the route
 * does not take), and user.deleted events that break the contract.
 */
export function invalidUserDeleted(valid: UserDeletedEvent, otherTypes: unknown[]): unknown[] {
  return [
    { hello: "world" },
    { ...valid, specversion: "0.3" },
    ...otherTypes,
    { ...valid, type: "dev.taskmesh.user.suspended.v1" },
    // Breaks the contract.
    { ...valid, data: { ...valid.data, userId: "" } },
    { ...valid, data: { occurredAt: valid.data.occurredAt, actor: valid.data.actor } },
    { ...valid, data: { ...valid.data, occurredAt: "yesterday" } },
    { ...valid, source: "/somebody/else" },
    // User ids the uuid columns could not hold: not UUIDs, so the contract refuses them first.
    { ...valid, data: { ...valid.data, userId: "user\u0000x" } },
    { ...valid, data: { ...valid.data, userId: "aliceAAAAAAAAAAAAAAAAAAAAAAAAAAA" } },
  ];
}
