import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_TOKEN, snapshot, startAuditLog, taskEvent, type TestAuditLog } from "./audit-log.ts";

let audit: TestAuditLog;
beforeAll(async () => {
  audit = await startAuditLog();
});
afterAll(async () => {
  await audit.close();
});

const sidecarRoutes = [
  ["POST", "/events/task-events"],
  ["GET", `/internal/tasks/${randomUUID()}/history?userId=u`],
  ["GET", "/internal/anything-else"],
] as const;

describe("routes for the sidecar", () => {
  for (const [method, path] of sidecarRoutes) {
    for (const [what, token] of [
      ["without dapr-api-token", undefined],
      ["with a wrong dapr-api-token", "not-the-token"],
      ["with an empty dapr-api-token", ""],
    ] as const) {
      it(`when ${method} ${path.replace(/\?.*/, "")} is called ${what}, then it is 401 problem+json`, async () => {
        const userId = randomUUID();
        const event = taskEvent(EVENT_TYPES.taskCreated, { task: snapshot({ id: randomUUID(), userId }) });
        let req = method === "POST" ? audit.request.post(path).send(event) : audit.request.get(path);
        if (token !== undefined) req = req.set("dapr-api-token", token);
        const res = await req.expect(401);
        expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(res.headers["www-authenticate"]).toBe('DaprApiToken realm="sidecar"');
        expect(res.body).toMatchObject({ status: 401, code: "unauthenticated" });
        if (method === "POST") {
          expect(await audit.prisma.auditEntry.count({ where: { userId } })).toBe(0);
        }
      });
    }
  }

  it("when the app token is sent as a bearer token instead, then it is still 401", async () => {
    await audit.request
      .get(`/internal/tasks/${randomUUID()}/history?userId=u`)
      .set("authorization", `Bearer ${APP_TOKEN}`)
      .expect(401);
  });
});

describe("routes for everyone", () => {
  it("when probes and metrics are read without a token, then they answer", async () => {
    expect((await audit.request.get("/healthz").expect(200)).body).toEqual({ status: "ok" });
    expect((await audit.request.get("/readyz").expect(200)).body).toMatchObject({
      status: "ready",
      checks: { database: "ok" },
    });
    const metrics = await audit.opsRequest.get("/metrics").expect(200);
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/healthz"/);
  });

  it("when daprd asks for programmatic subscriptions, then there are none (they are declarative)", async () => {
    expect((await audit.request.get("/dapr/subscribe").expect(200)).body).toEqual([]);
  });

  it("when a route does not exist, then it is 404 problem+json", async () => {
    const res = await audit.request.get("/v1/tasks").expect(404);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });

  it("when the service is draining, then /readyz is 503", async () => {
    const draining = await startAuditLog({ lifecycle: { draining: true } });
    try {
      await draining.request.get("/readyz").expect(503);
      await draining.request.get("/healthz").expect(200);
    } finally {
      await draining.close();
    }
  });
});
