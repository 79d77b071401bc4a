import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, type TestTaskApi, type TestUser } from "../support/task-api.ts";

/** What task-api's sidecar sends (APP_API_TOKEN) and what a caller's sidecar adds. */
const APP_TOKEN = "task-api-app-token-for-tests";

function asService(appId: string, userId: string, token = APP_TOKEN): Record<string, string> {
  return { "dapr-api-token": token, "dapr-caller-app-id": appId, "x-taskmesh-user-id": userId };
}

interface EventRow {
  type: string;
  data: { taskId: string; actor: { kind: string; id: string } };
}

let api: TestTaskApi;
let user: TestUser;
beforeAll(async () => {
  api = await startTaskApi({
    trustedCallers: { appApiToken: APP_TOKEN, appIds: ["recurring-tasks", "mcp-server"] },
  });
  user = await api.signUp({ name: "Acted For" });
});
afterAll(async () => {
  await api.close();
});

async function eventsOf(taskId: string): Promise<EventRow[]> {
  const rows = await api.prisma.outboxEvent.findMany({
    where: { partitionKey: taskId },
    orderBy: { id: "asc" },
  });
  return rows as unknown as EventRow[];
}

describe("trusted service callers", () => {
  it("when a trusted app calls through task-api's sidecar for a user, then it is that user", async () => {
    const res = await api.request.get("/v1/me").set(asService("recurring-tasks", user.id)).expect(200);

    expect((res.body as { id: string }).id).toBe(user.id);
  });

  it("when a trusted app changes a task for a user, then the task is the user's and every event names the app as actor", async () => {
    const headers = asService("mcp-server", user.id);
    const created = await api.request.post("/v1/tasks").set(headers).send({ title: "Via MCP" }).expect(201);
    const id = (created.body as { id: string }).id;
    await api.request.patch(`/v1/tasks/${id}`).set(headers).send({ priority: "high" }).expect(200);
    await api.request.post(`/v1/tasks/${id}/complete`).set(headers).expect(200);
    await api.request.delete(`/v1/tasks/${id}`).set(headers).expect(204);

    const events = await eventsOf(id);
    expect(events.map((e) => e.type.split(".")[3])).toEqual(["created", "updated", "completed", "deleted"]);
    for (const event of events) expect(event.data.actor).toEqual({ kind: "service", id: "mcp-server" });
    // The user's own changes still name the user.
    const own = await api.request.post("/v1/tasks").set(user.auth).send({ title: "Mine" }).expect(201);
    const [mine] = await eventsOf((own.body as { id: string }).id);
    expect(mine?.data.actor).toEqual({ kind: "user", id: user.id });
  });

  it("when the app token is wrong, then x-taskmesh-user-id is ignored and the request is unauthenticated", async () => {
    await api.request
      .get("/v1/me")
      .set(asService("recurring-tasks", user.id, "not-the-app-token"))
      .expect(401)
      .expect("WWW-Authenticate", 'Bearer realm="taskmesh"');
  });

  it("when the calling app is not trusted, then x-taskmesh-user-id is ignored and the request is unauthenticated", async () => {
    await api.request.get("/v1/me").set(asService("notifications", user.id)).expect(401);
  });

  it("when the sidecar names no calling app, then x-taskmesh-user-id is ignored", async () => {
    await api.request
      .get("/v1/me")
      .set({ "dapr-api-token": APP_TOKEN, "x-taskmesh-user-id": user.id })
      .expect(401);
  });

  it("when a signed-in user sends x-taskmesh-user-id of someone else, then it is ignored and they act as themselves", async () => {
    const other = await api.signUp();
    const res = await api.request
      .get("/v1/me")
      .set(user.auth)
      .set({ "x-taskmesh-user-id": other.id, "dapr-caller-app-id": "recurring-tasks" })
      .expect(200);

    expect((res.body as { id: string }).id).toBe(user.id);
  });

  it("when a trusted app names a user that does not exist, then 404", async () => {
    const res = await api.request
      .post("/v1/tasks")
      .set(asService("recurring-tasks", "no-such-user"))
      .send({ title: "For nobody" })
      .expect(404)
      .expect("Content-Type", /application\/problem\+json/);

    expect((res.body as { detail: string }).detail).toMatch(/User/);
  });

  it("when task-api has no app token configured, then no caller is trusted", async () => {
    const plain = await startTaskApi();
    try {
      const someone = await plain.signUp();
      await plain.request.get("/v1/me").set(asService("recurring-tasks", someone.id)).expect(401);
    } finally {
      await plain.close();
    }
  });
});
