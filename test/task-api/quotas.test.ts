import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { loadTaskApiConfig } from "../../services/task-api/src/config.ts";
import { DEFAULT_QUOTAS } from "../../services/task-api/src/domain/quotas.ts";
import { startTaskApi, type TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const APP_TOKEN = "task-api-app-token-for-quota-tests";
const QUOTAS = { tasks: 3, lists: 2, tags: 4, tokens: 2 };

const api = useTaskApi({
  quotas: QUOTAS,
  trustedCallers: { appApiToken: APP_TOKEN, appIds: ["recurring-tasks"] },
});

function expectQuotaExceeded(res: Response, quota: string, limit: number): void {
  expect(res.status, res.text).toBe(422);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: "https://taskmesh.dev/problems/quota-exceeded",
    title: "Quota exceeded",
    status: 422,
    code: "quota-exceeded",
    quota,
    limit,
  });
  // Says which limit and what to do about it.
  expect((res.body as { detail: string }).detail).toMatch(new RegExp(`limit of ${limit} .*then try again`));
}

const createTask = (user: TestUser, body: Record<string, unknown> = { title: "t" }) =>
  api.as(user).post("/v1/tasks", body);

async function ownedCounts(userId: string) {
  const where = { userId };
  return {
    tasks: await api.prisma.task.count({ where }),
    lists: await api.prisma.taskList.count({ where }),
    tags: await api.prisma.tag.count({ where }),
    tokens: await api.prisma.personalAccessToken.count({ where }),
    events: await api.prisma.outboxEvent.count(),
  };
}

describe("task quota", () => {
  it("when a user has as many tasks as the quota, then another create is 422 quota-exceeded, changes nothing, and succeeds once one is deleted", async () => {
    const user = await api.signUp();
    const ids: string[] = [];
    for (let i = 0; i < QUOTAS.tasks; i++)
      ids.push(((await createTask(user).expect(201)).body as { id: string }).id);
    const before = await ownedCounts(user.id);

    const refused = await createTask(user, { title: "one more", tags: ["fresh"] }).set(
      "Idempotency-Key",
      "k1",
    );
    expectQuotaExceeded(refused, "tasks", QUOTAS.tasks);
    // A subtask is a task too.
    expectQuotaExceeded(await createTask(user, { title: "sub", parentId: ids[0] }), "tasks", QUOTAS.tasks);
    expect(await ownedCounts(user.id)).toEqual(before);

    await api
      .as(user)
      .delete(`/v1/tasks/${String(ids[0])}`)
      .expect(204);
    // The refusal was not recorded under the idempotency key: the retry creates the task.
    await createTask(user, { title: "one more", tags: ["fresh"] })
      .set("Idempotency-Key", "k1")
      .expect(201);
  });

  it("when more creates race than there are free slots, then exactly the free slots are taken", async () => {
    const user = await api.signUp();
    await createTask(user).expect(201);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createTask(user, { title: `race ${i}` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 422, 422, 422, 422, 422, 422]);
    expect((await ownedCounts(user.id)).tasks).toBe(QUOTAS.tasks);
  });

  it("when one user is at the quota, then another user still creates tasks", async () => {
    const full = await api.signUp();
    for (let i = 0; i < QUOTAS.tasks; i++) await createTask(full).expect(201);
    const other = await api.signUp();
    await createTask(other).expect(201);
  });

  it("when recurring-tasks creates a series' next task at the quota, then 422 quota-exceeded; an occurrence that exists is still answered", async () => {
    const user = await api.signUp();
    const asRecurringTasks = (occurrenceKey: string) => ({
      "dapr-api-token": APP_TOKEN,
      "dapr-caller-app-id": "recurring-tasks",
      "x-taskmesh-user-id": user.id,
      "x-taskmesh-occurrence-key": occurrenceKey,
    });
    const body = { title: "Water the plants", dueAt: "2026-12-07T09:00:00Z", recurrence: "FREQ=DAILY" };
    const existing = `${crypto.randomUUID()}/2026-12-07T09:00:00.000Z`;
    const first = await api.request.post("/v1/tasks").set(asRecurringTasks(existing)).send(body).expect(201);
    for (let i = 1; i < QUOTAS.tasks; i++) await createTask(user).expect(201);
    const before = await ownedCounts(user.id);

    const next = `${crypto.randomUUID()}/2026-12-08T09:00:00.000Z`;
    expectQuotaExceeded(
      await api.request.post("/v1/tasks").set(asRecurringTasks(next)).send(body),
      "tasks",
      QUOTAS.tasks,
    );
    const again = await api.request.post("/v1/tasks").set(asRecurringTasks(existing)).send(body).expect(200);
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    expect(await ownedCounts(user.id)).toEqual(before);
  });
});

describe("list quota", () => {
  it("when concurrent creates race for the list quota, then exactly the quota is created and the rest are 422 quota-exceeded", async () => {
    const user = await api.signUp();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api.as(user).post("/v1/lists", { name: `l${i}` })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 422, 422, 422, 422]);
    const refused = results.find((r) => r.status === 422);
    if (!refused) throw new Error("no refusal");
    expectQuotaExceeded(refused, "lists", QUOTAS.lists);
    expect((await ownedCounts(user.id)).lists).toBe(QUOTAS.lists);
  });
});

describe("tag quota", () => {
  it("when a create or update would add tags past the quota, then 422 quota-exceeded and nothing changes; known tags still work", async () => {
    const user = await api.signUp();
    const task = (await createTask(user, { title: "a", tags: ["one", "two", "three"] }).expect(201)).body as {
      id: string;
      version: number;
    };
    const before = await ownedCounts(user.id);

    const refused = await createTask(user, { title: "b", tags: ["Four", "five"] });
    expectQuotaExceeded(refused, "tags", QUOTAS.tags);
    expect((refused.body as { detail: string }).detail).toContain("this request adds 2");
    const update = await api
      .as(user)
      .patch(`/v1/tasks/${task.id}`, { tags: ["one", "two", "three", "four", "five"] });
    expectQuotaExceeded(update, "tags", QUOTAS.tags);
    expect(await ownedCounts(user.id)).toEqual(before);
    const tags = ((await api.as(user).get(`/v1/tasks/${task.id}`)).body as { tags: string[] }).tags;
    expect(tags.toSorted()).toEqual(["one", "three", "two"]);

    // Existing names cost nothing, whatever their case; one new tag still fits.
    await createTask(user, { title: "c", tags: ["ONE", "Two", "four"] }).expect(201);
    expect((await ownedCounts(user.id)).tags).toBe(QUOTAS.tags);
  });

  it("when the quota is full but some tags are on no task any more, then those are deleted to make room", async () => {
    const user = await api.signUp();
    const task = (await createTask(user, { title: "a", tags: ["a", "b", "c", "d"] }).expect(201)).body as {
      id: string;
    };
    await api.as(user).patch(`/v1/tasks/${task.id}`, { tags: [] }).expect(200);

    await createTask(user, { title: "b", tags: ["e", "f"] }).expect(201);
    const names = (await api.prisma.tag.findMany({ where: { userId: user.id }, select: { name: true } })).map(
      (t) => t.name,
    );
    expect(names.sort()).toEqual(["e", "f"]);
  });
});

describe("personal access token quota", () => {
  it("when a user holds as many tokens as the quota, then another is 422 quota-exceeded until one is revoked", async () => {
    const user = await api.signUp();
    const create = () => api.as(user).post("/v1/tokens", { name: "agent", scope: "read" });
    const results = await Promise.all([create(), create(), create(), create()]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 422, 422]);
    const refused = results.find((r) => r.status === 422);
    if (!refused) throw new Error("no refusal");
    expectQuotaExceeded(refused, "tokens", QUOTAS.tokens);
    expect((refused.body as { detail: string }).detail).toContain("revoke");

    const id = (results.find((r) => r.status === 201)?.body as { id: string }).id;
    await api.as(user).delete(`/v1/tokens/${id}`).expect(204);
    await create().expect(201);
  });
});

describe("quota configuration", () => {
  it("when QUOTA_* are unset, then the documented defaults apply; when set, then they are used; zero or junk is refused at start", () => {
    // DATABASE_URL is required; only the quotas are read.
    const required = { DATABASE_URL: "postgresql://localhost/placeholder" };
    const config = loadTaskApiConfig(required);
    expect({
      tasks: config.QUOTA_TASKS_PER_USER,
      lists: config.QUOTA_LISTS_PER_USER,
      tags: config.QUOTA_TAGS_PER_USER,
      tokens: config.QUOTA_TOKENS_PER_USER,
    }).toEqual(DEFAULT_QUOTAS);
    expect(DEFAULT_QUOTAS).toEqual({ tasks: 10_000, lists: 200, tags: 500, tokens: 50 });
    expect(loadTaskApiConfig({ ...required, QUOTA_TASKS_PER_USER: "25" }).QUOTA_TASKS_PER_USER).toBe(25);
    expect(() => loadTaskApiConfig({ ...required, QUOTA_LISTS_PER_USER: "0" })).toThrow(
      /QUOTA_LISTS_PER_USER/,
    );
    expect(() => loadTaskApiConfig({ ...required, QUOTA_TAGS_PER_USER: "many" })).toThrow(
      /QUOTA_TAGS_PER_USER/,
    );
  });

  it("when the default quotas apply, then a user with 10,000 tasks gets 422 quota-exceeded for the next", async () => {
    const big = await startTaskApi();
    try {
      const user = await big.signUp();
      await big.pool.query(
        `INSERT INTO tasks (id, user_id, title, updated_at) SELECT gen_random_uuid(), $1, 'bulk ' || i, now()
           FROM generate_series(1, 10000) AS i`,
        [user.id],
      );
      expectQuotaExceeded(
        await big.request.post("/v1/tasks").set(user.auth).send({ title: "10,001st" }),
        "tasks",
        10_000,
      );
    } finally {
      await big.close();
    }
  });
});
