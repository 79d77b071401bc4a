/**
 * notifications gets 405 from the common service app as task-api does: a known path asked with
 * another method answers 405 problem+json with the path's methods in Allow, on the listeners
 * where the path exists; elsewhere it stays 404.
 */
import { EVENT_TYPES } from "@taskmesh/contracts";
import type { Response } from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import { APP_TOKEN, startNotifications, type NotificationsHarness } from "./notifications-harness.ts";
import { startWebhookHarness, type WebhookHarness } from "./webhook-harness.ts";

function expectStatus(res: Response, status: number, code: string): { detail?: string } {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: `https://taskmesh.dev/problems/${code}` });
  return res.body as { detail?: string };
}

function expectMethodNotAllowed(res: Response, allow: string): void {
  expect(expectStatus(res, 405, "method-not-allowed").detail).toContain(allow);
  expect(res.headers.allow).toBe(allow);
}

describe("405 on the public listener", () => {
  let h: WebhookHarness;
  let user: TestUser;
  beforeAll(async () => {
    h = await startWebhookHarness();
    user = await h.signUp();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(["PUT", "DELETE", "TRACE"])(
    "when %s /v1/webhooks is asked, then 405 with Allow: GET, HEAD, POST",
    async (method) => {
      const res = await h.request[method.toLowerCase() as "put" | "delete" | "trace"]("/v1/webhooks").set(
        user.auth,
      );
      expectMethodNotAllowed(res, "GET, HEAD, POST");
    },
  );

  it("when a webhook is asked with PATCH, then Allow lists DELETE, GET, HEAD", async () => {
    const hook = await h.request
      .post("/v1/webhooks")
      .set(user.auth)
      .send({ url: "http://127.0.0.1:4500/x", eventTypes: [EVENT_TYPES.reminderDue] })
      .expect(201);
    const res = await h.request
      .patch(`/v1/webhooks/${(hook.body as { id: string }).id}`)
      .set(user.auth)
      .send({});
    expectMethodNotAllowed(res, "DELETE, GET, HEAD");
    expectMethodNotAllowed(await h.request.get("/v1/stream/tickets").set(user.auth), "POST");
  });

  it("when a path is unknown, or exists on the sidecar listener only, then 404", async () => {
    expectStatus(await h.request.put("/v1/nothing-here").set(user.auth), 404, "not-found");
    expectStatus(await h.request.get("/cron/reminders"), 404, "not-found");
    expectStatus(await h.request.post("/dapr/subscribe"), 404, "not-found");
    expectStatus(await h.request.post("/metrics"), 404, "not-found");
  });

  it("when OPTIONS or HEAD is asked, then they answer as before", async () => {
    const options = await h.request.options("/v1/webhooks").set(user.auth).expect(200);
    expect(options.headers.allow).toBe("GET, HEAD, POST");
    await h.request.head("/v1/webhooks").set(user.auth).expect(200);
    expect((await h.request.head("/v1/stream/tickets").set(user.auth)).status).toBe(404);
  });
});

describe("405 on the sidecar listener", () => {
  let h: NotificationsHarness;
  beforeAll(async () => {
    h = await startNotifications();
  });
  afterAll(async () => {
    await h.close();
  });

  it("when a sidecar route is asked with another method, then 405 with its methods", async () => {
    expectMethodNotAllowed(await h.request.get("/cron/reminders").set("dapr-api-token", APP_TOKEN), "POST");
    expectMethodNotAllowed(await h.request.post("/dapr/subscribe"), "GET, HEAD");
    // Without the app token the guard answers first, as for the route's own method.
    expectStatus(await h.request.get("/cron/reminders"), 401, "unauthenticated");
  });
});
