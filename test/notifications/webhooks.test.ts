import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretBox } from "../../services/notifications/src/domain/webhook-signing.ts";
import type { TestUser } from "../support/task-api.ts";
import { startWebhookHarness, type WebhookHarness } from "./webhook-harness.ts";

interface WebhookJson {
  id: string;
  url: string;
  eventTypes: string[];
  description: string | null;
  createdAt: string;
  secret?: string;
}

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { pointer: string; in: string; detail: string }[];
}

const TASK_TYPES = [EVENT_TYPES.taskCreated, EVENT_TYPES.taskCompleted];

describe("webhook registration API", () => {
  let h: WebhookHarness;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    h = await startWebhookHarness({ settings: { maxPerUser: 3 } });
    [alice, bob] = await Promise.all([h.signUp(), h.signUp()]);
  });
  afterAll(async () => {
    await h.close();
  });

  function register(user: TestUser, body: object) {
    return h.request.post("/v1/webhooks").set(user.auth).send(body);
  }

  async function countWebhooks(user: TestUser): Promise<number> {
    return h.prisma.webhook.count({ where: { userId: user.id } });
  }

  it("when a user registers a webhook, then 201 shows it with its signing secret, once", async () => {
    const user = await h.signUp();
    const res = await register(user, {
      url: "http://127.0.0.1:4000/hooks?source=taskmesh",
      eventTypes: [...TASK_TYPES, EVENT_TYPES.reminderDue, EVENT_TYPES.taskCreated],
      description: "  my receiver  ",
    }).expect(201);
    const created = res.body as WebhookJson;
    expect(res.headers.location).toBe(`/v1/webhooks/${created.id}`);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      url: "http://127.0.0.1:4000/hooks?source=taskmesh",
      eventTypes: [...TASK_TYPES, EVENT_TYPES.reminderDue],
      description: "my receiver",
      createdAt: expect.any(String) as string,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/) as string,
    });

    const { secret, ...shown } = created;
    const one = await h.request.get(`/v1/webhooks/${created.id}`).set(user.auth).expect(200);
    expect(one.body).toEqual(shown);
    const list = await h.request.get("/v1/webhooks").set(user.auth).expect(200);
    expect(list.body).toEqual({ data: [shown], nextCursor: null });
    expect(JSON.stringify([one.body, list.body])).not.toContain("whsec_");

    // At rest the secret is sealed under the configured key, bound to the webhook id.
    const row = await h.prisma.webhook.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.secret).not.toContain(secret?.slice(6));
    expect(createSecretBox(h.settings.secretKey).open(row.secret, created.id)).toBe(secret);
  });

  it("when the body breaks the schema, then 422 names every field and nothing is stored", async () => {
    const user = await h.signUp();
    const cases: [object, string[]][] = [
      [{}, ["/url", "/eventTypes"]],
      [{ url: "http://127.0.0.1/x", eventTypes: [] }, ["/eventTypes"]],
      [{ url: "http://127.0.0.1/x", eventTypes: ["dev.taskmesh.task.exploded.v1"] }, ["/eventTypes/0"]],
      [{ url: "ftp://127.0.0.1/x", eventTypes: TASK_TYPES }, ["/url"]],
      [{ url: "https://u:p@example.com/x", eventTypes: TASK_TYPES }, ["/url"]],
      [{ url: "not a url", eventTypes: "all" }, ["/url", "/eventTypes"]],
      [{ url: "http://127.0.0.1/x", eventTypes: TASK_TYPES, secret: "mine" }, ["/secret"]],
      [{ url: "http://127.0.0.1/x", eventTypes: TASK_TYPES, description: "d".repeat(201) }, ["/description"]],
      [{ url: `http://127.0.0.1/${"x".repeat(2048)}`, eventTypes: TASK_TYPES }, ["/url"]],
    ];
    for (const [body, pointers] of cases) {
      const res = await register(user, body).expect(422);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const problem = res.body as Problem;
      expect(problem.code).toBe("validation-failed");
      expect(problem.errors?.map((e) => e.pointer).sort()).toEqual([...pointers].sort());
    }
    const malformed = await h.request
      .post("/v1/webhooks")
      .set(user.auth)
      .set("content-type", "application/json")
      .send('{"url": ')
      .expect(400);
    expect((malformed.body as Problem).code).toBe("malformed-json");
    expect(await countWebhooks(user)).toBe(0);
  });

  it("when another user reads, lists, deletes or asks for the deliveries of a webhook, then 404 and it stays", async () => {
    const created = (
      await register(alice, { url: "http://127.0.0.1:4001/a", eventTypes: TASK_TYPES }).expect(201)
    ).body as WebhookJson;
    for (const path of [`/v1/webhooks/${created.id}`, `/v1/webhooks/${created.id}/deliveries`]) {
      const res = await h.request.get(path).set(bob.auth).expect(404);
      expect((res.body as Problem).code).toBe("not-found");
    }
    await h.request.delete(`/v1/webhooks/${created.id}`).set(bob.auth).expect(404);
    const bobs = await h.request.get("/v1/webhooks").set(bob.auth).expect(200);
    expect((bobs.body as { data: WebhookJson[] }).data.map((w) => w.id)).not.toContain(created.id);
    await h.request.get(`/v1/webhooks/${created.id}`).set(alice.auth).expect(200);
    await h.request.get("/v1/webhooks/not-a-uuid").set(alice.auth).expect(404);
  });

  it("when a user deletes a webhook, then 204, it is gone, and a second delete is 404", async () => {
    const user = await h.signUp();
    const created = (
      await register(user, { url: "http://127.0.0.1:4002/a", eventTypes: TASK_TYPES }).expect(201)
    ).body as WebhookJson;
    await h.request.delete(`/v1/webhooks/${created.id}`).set(user.auth).expect(204);
    await h.request.get(`/v1/webhooks/${created.id}`).set(user.auth).expect(404);
    await h.request.delete(`/v1/webhooks/${created.id}`).set(user.auth).expect(404);
    expect(await countWebhooks(user)).toBe(0);
  });

  it("when a user reaches the cap, then concurrent registrations past it are 422 quota-exceeded and others still can register", async () => {
    const user = await h.signUp();
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        register(user, { url: `http://127.0.0.1:4100/${i}`, eventTypes: TASK_TYPES }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 422, 422]);
    const refused = results.find((r) => r.status === 422);
    expect(refused?.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(refused?.body).toMatchObject({
      type: "https://taskmesh.dev/problems/quota-exceeded",
      code: "quota-exceeded",
      quota: "webhooks",
      limit: 3,
    });
    expect((refused?.body as { detail: string }).detail).toMatch(/limit of 3 webhooks.*delete one/);
    expect(await countWebhooks(user)).toBe(3);
  });

  it("when the list is longer than the limit, then pages follow nextCursor in creation order", async () => {
    const user = await h.signUp();
    const ids: string[] = [];
    for (const i of [1, 2, 3]) {
      const res = await register(user, { url: `http://127.0.0.1:4200/${i}`, eventTypes: TASK_TYPES }).expect(
        201,
      );
      ids.push((res.body as WebhookJson).id);
    }
    const first = await h.request.get("/v1/webhooks?limit=2").set(user.auth).expect(200);
    const firstBody = first.body as { data: WebhookJson[]; nextCursor: string };
    expect(firstBody.data.map((w) => w.id)).toEqual(ids.slice(0, 2));
    const second = await h.request
      .get(`/v1/webhooks?limit=2&cursor=${firstBody.nextCursor}`)
      .set(user.auth)
      .expect(200);
    expect(second.body).toMatchObject({ data: [{ id: ids[2] }], nextCursor: null });

    const bad = await h.request.get("/v1/webhooks?cursor=garbage").set(user.auth).expect(400);
    expect((bad.body as Problem).errors?.[0]?.pointer).toBe("/cursor");
    await h.request.get("/v1/webhooks?limit=0").set(user.auth).expect(400);
    await h.request.get("/v1/webhooks?colour=blue").set(user.auth).expect(400);
  });

  it("when a delivery cursor is forged with an instant PostgreSQL cannot take, then 400 naming the cursor", async () => {
    const user = await h.signUp();
    const hook = (
      await register(user, { url: "http://127.0.0.1:4300/x", eventTypes: TASK_TYPES }).expect(201)
    ).body as WebhookJson;
    const forged = (createdAt: string) =>
      Buffer.from(JSON.stringify({ createdAt, id: hook.id })).toString("base64url");
    for (const createdAt of ["2026-01-01T00:00:00-22:59", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]) {
      const res = await h.request
        .get(`/v1/webhooks/${hook.id}/deliveries?cursor=${forged(createdAt)}`)
        .set(user.auth)
        .expect(400);
      expect((res.body as Problem).errors?.[0]?.pointer).toBe("/cursor");
    }
    await h.request
      .get(`/v1/webhooks/${hook.id}/deliveries?cursor=${forged("2026-01-01T00:00:00Z")}`)
      .set(user.auth)
      .expect(200);
  });

  it("when the request has no valid access token, then 401", async () => {
    await h.request.get("/v1/webhooks").expect(401);
    await h.request
      .post("/v1/webhooks")
      .set("Authorization", "Bearer not.a.token")
      .send({ url: "http://127.0.0.1/x", eventTypes: TASK_TYPES })
      .expect(401);
  });
});

describe("webhook registration with the SSRF guard on", () => {
  let h: WebhookHarness;
  let user: TestUser;

  beforeAll(async () => {
    h = await startWebhookHarness({ settings: { allowPrivateTargets: false } });
    user = await h.signUp();
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    ["http://127.0.0.1:8080/hook", "is 127.0.0.1, a loopback address"],
    ["http://10.20.30.40/hook", "is 10.20.30.40, a private address"],
    ["http://169.254.169.254/latest/meta-data/", "is 169.254.169.254, a link-local (cloud metadata) address"],
    ["http://[::1]:8080/hook", "is ::1, a loopback address"],
    ["http://localhost:8080/hook", "host localhost resolves to"],
    ["https://no-such-host.invalid/hook", "host no-such-host.invalid does not resolve"],
    // A public host, but not on HTTP's or HTTPS's port (WEBHOOK_ALLOWED_PORTS, default 80,443).
    ["https://1.1.1.1:8443/hook", "uses port 8443; webhook targets may use port 80 or 443 only"],
  ])("when the URL is %s, then 422 says why and nothing is stored", async (url, detail) => {
    const res = await h.request
      .post("/v1/webhooks")
      .set(user.auth)
      .send({ url, eventTypes: [EVENT_TYPES.reminderDue] })
      .expect(422);
    const problem = res.body as Problem;
    expect(problem.errors).toEqual([
      { pointer: "/url", in: "body", detail: expect.stringContaining(detail) as string },
    ]);
    expect(problem.detail).toContain(detail);
    expect(await h.prisma.webhook.count({ where: { userId: user.id } })).toBe(0);
  });
});
