import { beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, type TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

/** What task-api's sidecar sends (APP_API_TOKEN) and what a caller's sidecar adds. */
const APP_TOKEN = "task-api-app-token-for-tests";

function asService(appId: string, userId: string, token = APP_TOKEN): Record<string, string> {
  return { "dapr-api-token": token, "dapr-caller-app-id": appId, "x-taskmesh-user-id": userId };
}

interface EventRow {
  type: string;
  data: { taskId: string; actor: { kind: string; id: string } };
}

const api = useTaskApi({
  trustedCallers: { appApiToken: APP_TOKEN, appIds: ["recurring-tasks", "mcp-server"] },
});
let user: TestUser;
beforeAll(async () => {
  user = await api.signUp({ name: "Acted For" });
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
    const own = await api.as(user).post("/v1/tasks", { title: "Mine" }).expect(201);
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

describe("the public listener (what the Ingress exposes)", () => {
  it("when a request on the public port carries a valid app token, a trusted caller id and x-taskmesh-user-id, then it is an ordinary unauthenticated request (401)", async () => {
    for (const appId of ["recurring-tasks", "mcp-server"]) {
      await api.publicRequest
        .get("/v1/me")
        .set(asService(appId, user.id))
        .expect(401)
        .expect("WWW-Authenticate", 'Bearer realm="taskmesh"');
      await api.publicRequest
        .post("/v1/tasks")
        .set(asService(appId, user.id))
        .send({ title: "x" })
        .expect(401);
    }
    expect(await api.prisma.task.count({ where: { userId: user.id, title: "x" } })).toBe(0);
  });

  it("when a signed-in user adds the leaked app token and another user's id on the public port, then they still act as themselves", async () => {
    const other = await api.signUp();
    const res = await api.publicRequest
      .get("/v1/me")
      .set({ ...asService("mcp-server", other.id), ...user.auth })
      .expect(200);
    expect((res.body as { id: string }).id).toBe(user.id);
  });

  it("when /internal/*, /dapr/* or /metrics is asked on the public port, even with the app token, then 404 like an unknown route", async () => {
    const introspect = await api.publicRequest
      .post("/internal/tokens/introspect")
      .set({ "dapr-api-token": APP_TOKEN, "dapr-caller-app-id": "mcp-server" })
      .send({ token: "tmpat_x" })
      .expect(404)
      .expect("Content-Type", /application\/problem\+json/);
    expect((introspect.body as { detail: string }).detail).toBe(
      "No route matches POST /internal/tokens/introspect.",
    );
    await api.publicRequest.get("/metrics").expect(404);
    // The sidecar listener does not serve /metrics either; the operations one does.
    await api.request.get("/metrics").expect(404);
    await api.opsRequest.get("/metrics").expect(200);
  });

  it("when the operations port is asked for the API, then 404: it serves only probes and /metrics", async () => {
    await api.opsRequest.get("/healthz").expect(200);
    await api.opsRequest.get("/readyz").expect(200);
    await api.opsRequest.get("/v1/me").set(user.auth).expect(404);
    await api.opsRequest.get("/openapi.json").expect(404);
  });

  it("when a trusted app's calls arrive on the public port with the app token, then they do not skip the per-IP limit", async () => {
    const limited = await startTaskApi({
      trustedCallers: { appApiToken: APP_TOKEN, appIds: ["mcp-server"] },
      rateLimit: { ipPerMinute: 10, userPerMinute: 0 },
    });
    try {
      const someone = await limited.signUp(); // 2 of the 10 requests this IP may make
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++)
        statuses.push(
          (await limited.publicRequest.get("/v1/me").set(asService("mcp-server", someone.id))).status,
        );
      expect(statuses).toEqual([...Array<number>(8).fill(401), 429, 429]);
      // Through the sidecar listener the same calls share the sidecar's address: not IP-limited.
      for (let i = 0; i < 5; i++)
        await limited.request.get("/v1/me").set(asService("mcp-server", someone.id)).expect(200);
    } finally {
      await limited.close();
    }
  });
});

describe("a trusted app acting with the user's token scope (x-taskmesh-scope)", () => {
  it("when mcp-server acts for a user with a read-only token, then task-api itself refuses writes with 403 insufficient_scope and allows reads", async () => {
    const readOnly = { ...asService("mcp-server", user.id), "x-taskmesh-scope": "read" };
    await api.request.get("/v1/tasks").set(readOnly).expect(200);
    const before = await api.prisma.task.count({ where: { userId: user.id } });
    for (const send of [
      () => api.request.post("/v1/tasks").set(readOnly).send({ title: "read-only write" }),
      () => api.request.post("/v1/lists").set(readOnly).send({ name: "read-only list" }),
    ]) {
      const res = await send()
        .expect(403)
        .expect("Content-Type", /application\/problem\+json/);
      expect(res.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    }
    expect(await api.prisma.task.count({ where: { userId: user.id } })).toBe(before);
  });

  it("when the scope is read-write, then the trusted app may write", async () => {
    await api.request
      .post("/v1/tasks")
      .set({ ...asService("mcp-server", user.id), "x-taskmesh-scope": "read-write" })
      .send({ title: "read-write via MCP" })
      .expect(201);
  });

  it("when x-taskmesh-scope is not a known scope, then 400 problem+json and nothing is written", async () => {
    for (const scope of ["admin", "READ-WRITE", ""]) {
      const res = await api.request
        .post("/v1/tasks")
        .set({ ...asService("mcp-server", user.id), "x-taskmesh-scope": scope })
        .send({ title: "bad scope" })
        .expect(400)
        .expect("Content-Type", /application\/problem\+json/);
      expect((res.body as { detail: string }).detail).toMatch(/x-taskmesh-scope/);
    }
    expect(await api.prisma.task.count({ where: { userId: user.id, title: "bad scope" } })).toBe(0);
  });

  it("when a client sends x-taskmesh-scope with its own token on the public port, then it changes nothing about its rights", async () => {
    await api.publicRequest
      .post("/v1/tasks")
      .set({ ...user.auth, "x-taskmesh-scope": "read" })
      .send({ title: "own token, header ignored" })
      .expect(201);
  });
});
