import type { Server } from "node:http";
import { freePort, listenOn } from "@taskmesh/core";
import { EVENT_TYPES, exampleEvents } from "@taskmesh/contracts";
import { createSidecarClient } from "@taskmesh/dapr";
import supertest from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeRecurringTasks } from "../../services/recurring-tasks/src/compose.ts";
import { loadRecurringTasksConfig } from "../../services/recurring-tasks/src/config.ts";
import { closeServers } from "../support/servers.ts";

const APP_TOKEN = "recurring-tasks-app-token";

let server: Server;
let opsServer: Server;
/** The sidecar listener (the Dapr app port), where daprd delivers. */
let request: ReturnType<typeof supertest>;

beforeAll(async () => {
  // No daprd listens on this port: whatever needs the sidecar meets a real connection refusal.
  const sidecar = createSidecarClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 });
  const config = loadRecurringTasksConfig({
    APP_API_TOKEN: APP_TOKEN,
    PROCESSED_EVENT_TTL_SECONDS: "3600",
    LOG_LEVEL: "silent",
  });
  const { app } = composeRecurringTasks(config, { sidecar });
  server = await listenOn(app, "sidecar", 0, "127.0.0.1");
  opsServer = await listenOn(app, "operations", 0, "127.0.0.1");
  request = supertest(server);
});

afterAll(async () => {
  await closeServers([server, opsServer]);
});

const examples = exampleEvents();
const completedRecurring = examples[EVENT_TYPES.taskCompleted];

function deliver(body: unknown) {
  return request
    .post("/events/task-events")
    .set("dapr-api-token", APP_TOKEN)
    .set("content-type", "application/cloudevents+json")
    .send(JSON.stringify(body));
}

describe("POST /events/task-events", () => {
  it("when the request has no app token, then 401 problem+json and nothing is handled", async () => {
    const res = await request.post("/events/task-events").send(completedRecurring);
    expect(res.status).toBe(401);
    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect(res.headers["www-authenticate"]).toMatch(/DaprApiToken/);
  });

  it("when the app token is wrong, then 401", async () => {
    await request
      .post("/events/task-events")
      .set("dapr-api-token", "not-the-token")
      .send(completedRecurring)
      .expect(401);
  });

  it("when the body is not a CloudEvent, then DROP", async () => {
    const res = await deliver({ hello: "world" }).expect(200);
    expect(res.body).toEqual({ status: "DROP" });
  });

  it("when a task.completed event breaks its contract, then DROP", async () => {
    const broken = { ...completedRecurring, data: { ...completedRecurring.data, sequence: 99 } };
    const res = await deliver(broken).expect(200);
    expect(res.body).toEqual({ status: "DROP" });
  });

  it("when the event is a reminder (not a task event), then DROP", async () => {
    const res = await deliver(examples[EVENT_TYPES.reminderDue]).expect(200);
    expect(res.body).toEqual({ status: "DROP" });
  });

  it("when a completed task has no recurrence, then SUCCESS without calling anything", async () => {
    const plain = {
      ...completedRecurring,
      id: "plain-task-completed",
      data: { ...completedRecurring.data, task: { ...completedRecurring.data.task, recurrence: null } },
    };
    const res = await deliver(plain).expect(200);
    expect(res.body).toEqual({ status: "SUCCESS" });
  });

  it.each([
    EVENT_TYPES.taskCreated,
    EVENT_TYPES.taskUpdated,
    EVENT_TYPES.taskReopened,
    EVENT_TYPES.taskDeleted,
  ])("when a recurring task's event is %s (not a completion), then SUCCESS", async (type) => {
    const res = await deliver(examples[type]).expect(200);
    expect(res.body).toEqual({ status: "SUCCESS" });
  });

  it("when a recurring task is completed and the sidecar is unreachable, then RETRY", async () => {
    const res = await deliver(completedRecurring).expect(200);
    expect(res.body).toEqual({ status: "RETRY" });
  });
});

describe("operations", () => {
  it("when probed, then /healthz and /readyz answer 200 and /dapr/subscribe is empty (subscriptions are declarative)", async () => {
    await request.get("/healthz").expect(200);
    await request.get("/readyz").expect(200);
    await request.get("/dapr/subscribe").expect(200, []);
  });

  it("when events were handled, then /metrics counts them by outcome", async () => {
    await deliver({ ...examples[EVENT_TYPES.taskCreated], id: "metrics-created" }).expect(200);
    await deliver({ ...completedRecurring, id: "metrics-completed" }).expect(200);
    const metrics = await supertest(opsServer).get("/metrics").expect(200);
    expect(metrics.text).toMatch(/recurring_tasks_events_total\{outcome="not-recurring"[^}]*\} [1-9]/);
    expect(metrics.text).toMatch(/recurring_tasks_events_total\{outcome="retry"[^}]*\} [1-9]/);
  });
});
