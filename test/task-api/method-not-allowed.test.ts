/**
 * A known path asked with a method it does not have: 405 problem+json with an Allow header
 * read from the routes Express registered (packages/core/src/http/method-not-allowed.ts).
 * OPTIONS and HEAD answer as they always did, and a route that does not exist on a listener
 * stays a 404 there.
 */
import { randomUUID } from "node:crypto";
import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { expectProblem, taskApiFixtures, useTaskApi } from "../support/task-api-fixtures.ts";

const APP_TOKEN = "task-api-app-token-for-405-tests";
const api = useTaskApi({ trustedCallers: { appApiToken: APP_TOKEN, appIds: ["mcp-server"] } });
const { createTask } = taskApiFixtures(api);

function expectMethodNotAllowed(res: Response, allow: string): void {
  const body = expectProblem(res, 405, "method-not-allowed");
  expect(res.headers.allow).toBe(allow);
  expect(body.detail).toContain(allow);
}

describe("405 Method Not Allowed", () => {
  it.each(["PUT", "DELETE", "TRACE"])(
    "when %s /v1/tasks is asked, then 405 with Allow: GET, HEAD, POST and nothing is changed",
    async (method) => {
      const user = await api.signUp();
      await createTask(user, { title: "stays" });
      const res = await api.request[method.toLowerCase() as "put" | "delete" | "trace"]("/v1/tasks").set(
        user.auth,
      );
      expectMethodNotAllowed(res, "GET, HEAD, POST");
      expect(res.body).toMatchObject({ instance: "/v1/tasks" });
      const list = await api.request.get("/v1/tasks").set(user.auth).expect(200);
      expect((list.body as { data: unknown[] }).data).toHaveLength(1);
    },
  );

  it("when a task path or an action is asked with another method, then Allow lists that path's own methods", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "t" });
    expectMethodNotAllowed(
      await api.request.put(`/v1/tasks/${task.id}`).set(user.auth).send({ title: "x" }),
      "DELETE, GET, HEAD, PATCH",
    );
    expectMethodNotAllowed(await api.request.patch(`/v1/tasks/${task.id}/complete`).set(user.auth), "POST");
    expectMethodNotAllowed(await api.request.post("/v1/tags").set(user.auth).send({}), "GET, HEAD");
    expectMethodNotAllowed(
      await api.request.put("/v1/me").set(user.auth).send({}),
      "DELETE, GET, HEAD, PATCH",
    );
    // A path id that names no task: the path still exists for these methods.
    expectMethodNotAllowed(
      await api.request.put(`/v1/tasks/${randomUUID()}`).set(user.auth),
      "DELETE, GET, HEAD, PATCH",
    );
  });

  it("when the service's common routes are asked with another method, then 405 there too", async () => {
    expectMethodNotAllowed(await api.publicRequest.post("/healthz"), "GET, HEAD");
    expectMethodNotAllowed(await api.publicRequest.delete("/openapi.json"), "GET, HEAD");
  });

  it("when a path has no route for any method, then 404 as before", async () => {
    const user = await api.signUp();
    expectProblem(await api.request.put("/v1/no-such-thing").set(user.auth), 404, "not-found");
    expectProblem(await api.request.get("/v1/no-such-thing").set(user.auth), 404, "not-found");
  });

  it("when the request is not authenticated, then 401 comes first, as for any /v1 request", async () => {
    expectProblem(await api.request.put("/v1/tasks"), 401, "unauthenticated");
  });

  it("when a route exists only on another listener, then 404 there, not a 405 that reveals it", async () => {
    // /metrics is on the operations listener only, the introspection route on the sidecar's.
    expectProblem(await api.publicRequest.post("/metrics"), 404, "not-found");
    expectProblem(await api.request.post("/metrics"), 404, "not-found");
    expectProblem(await api.publicRequest.get("/internal/tokens/introspect"), 404, "not-found");
    expectMethodNotAllowed(
      await api.request
        .get("/internal/tokens/introspect")
        .set({ "dapr-api-token": APP_TOKEN, "dapr-caller-app-id": "mcp-server" }),
      "POST",
    );
  });

  it("when OPTIONS or HEAD is asked, then they answer as they did: the router's Allow, GET's headers, or 404", async () => {
    const user = await api.signUp();
    const task = await createTask(user, { title: "t" });
    const options = await api.request.options("/v1/tasks").set(user.auth).expect(200);
    expect(options.headers.allow).toBe("GET, HEAD, POST");
    await api.request.head(`/v1/tasks/${task.id}`).set(user.auth).expect(200);
    const head = await api.request.head(`/v1/tasks/${task.id}/complete`).set(user.auth);
    expect(head.status).toBe(404);
    expect(head.headers.allow).toBeUndefined();
  });
});
