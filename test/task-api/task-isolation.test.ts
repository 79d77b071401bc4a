import { randomUUID } from "node:crypto";
import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import {
  taskApiFixtures,
  useTaskApi,
  type Page as PageOf,
  type ProblemBody,
  type TaskView,
} from "../support/task-api-fixtures.ts";
import type { TestUser } from "../support/task-api.ts";

/**
 * One user can never see, change or learn of another user's tasks. Every test signs up its own
 * owner and intruder; a route given the owner's task id must answer the intruder exactly as it
 * answers a random id, and must leave the owner's task as it was.
 */

const api = useTaskApi();
const { createTask, readTask, createList, listTasks, postWithKey } = taskApiFixtures(api);
type Page = PageOf<TaskView>;

/** What a client can observe of a refusal, less the parts that name the request (instance, requestId). */
function observable(res: Response): {
  status: number;
  contentType: unknown;
  type: string;
  title: string;
  detail: unknown;
  errors: unknown;
} {
  const body = res.body as ProblemBody;
  return {
    status: res.status,
    contentType: res.headers["content-type"],
    type: body.type,
    title: body.title,
    detail: body.detail,
    errors: body.errors,
  };
}

/** Two users, the owner with a task (tagged, in a list, with a subtask) for the intruder to go after. */
async function ownerAndIntruder() {
  const owner = await api.signUp();
  const intruder = await api.signUp();
  const listId = (await createList(owner, "Secret plans")).id;
  const secret = await createTask(owner, {
    title: "Secret launch",
    description: "codename falcon",
    tags: ["Classified"],
    listId,
    dueAt: "2026-12-01",
  });
  const subtask = await createTask(owner, { title: "Secret step", parentId: secret.id });
  return { owner, intruder, listId, secret: await readTask(owner, secret.id), subtask };
}

type Call = (user: TestUser, id: string) => Promise<Response>;

const routes: [string, Call][] = [
  ["reads", (user, id) => api.as(user).get(`/v1/tasks/${id}`).then()],
  [
    "reads with If-None-Match",
    (user, id) => api.as(user).get(`/v1/tasks/${id}`, { "If-None-Match": '"1"' }).then(),
  ],
  ["patches", (user, id) => api.as(user).patch(`/v1/tasks/${id}`, { title: "pwned" }).then()],
  [
    "patches with a stale If-Match",
    (user, id) => api.as(user).patch(`/v1/tasks/${id}`, { title: "pwned" }, { "If-Match": '"99"' }).then(),
  ],
  ["patches with an invalid body", (user, id) => api.as(user).patch(`/v1/tasks/${id}`, { title: "" }).then()],
  ["deletes", (user, id) => api.as(user).delete(`/v1/tasks/${id}`).then()],
  [
    "deletes with a stale If-Match",
    (user, id) => api.as(user).delete(`/v1/tasks/${id}`, { "If-Match": '"99"' }).then(),
  ],
  ["completes", (user, id) => api.as(user).post(`/v1/tasks/${id}/complete`).then()],
  [
    "completes with an Idempotency-Key",
    (user, id) => postWithKey(user, `/v1/tasks/${id}/complete`, undefined, "k1").then(),
  ],
  ["reopens", (user, id) => api.as(user).post(`/v1/tasks/${id}/reopen`).then()],
  [
    "reopens with a stale If-Match",
    (user, id) => api.as(user).post(`/v1/tasks/${id}/reopen`, undefined, { "If-Match": '"99"' }).then(),
  ],
];

describe("task routes by id", () => {
  it.each(routes)(
    "when a user %s another user's task, then the answer is the one for a random id and the task is unchanged",
    async (_route, call) => {
      const { owner, intruder, secret, subtask } = await ownerAndIntruder();
      const random = await call(intruder, randomUUID());
      const stolen = await call(intruder, secret.id);
      expect(observable(stolen)).toEqual(observable(random));
      expect(stolen.headers.etag).toBeUndefined();
      expect(JSON.stringify(stolen.body)).not.toContain("Secret");
      expect(await readTask(owner, secret.id)).toEqual(secret);
      expect(await readTask(owner, subtask.id)).toEqual(subtask);
    },
  );

  it("when a user reads another user's task, then 404 not-found", async () => {
    const { intruder, secret } = await ownerAndIntruder();
    const res = await api.as(intruder).get(`/v1/tasks/${secret.id}`);
    expect(res.status).toBe(404);
    expect((res.body as ProblemBody).type).toBe("https://taskmesh.dev/problems/not-found");
  });

  it("when a user completes another user's parent task, then none of its subtasks is completed either", async () => {
    const { owner, intruder, secret, subtask } = await ownerAndIntruder();
    expect((await api.as(intruder).post(`/v1/tasks/${secret.id}/complete`)).status).toBe(404);
    expect(await readTask(owner, subtask.id)).toMatchObject({ completed: false, version: 1 });
  });

  it("when a user deletes another user's parent task, then the owner keeps the task and its subtasks", async () => {
    const { owner, intruder, secret } = await ownerAndIntruder();
    expect((await api.as(intruder).delete(`/v1/tasks/${secret.id}`)).status).toBe(404);
    expect(await api.prisma.task.count({ where: { userId: owner.id } })).toBe(2);
  });
});

describe("listing, searching and filtering", () => {
  it("when a user lists tasks with any status, then none of another user's tasks is among them", async () => {
    const { intruder } = await ownerAndIntruder();
    const mine = await createTask(intruder, { title: "My own" });
    const page = await listTasks(intruder, { status: "all", limit: 100 });
    expect(page.data.map((t) => t.id)).toEqual([mine.id]);
  });

  it("when a user searches for words only another user's task has, then nothing is found", async () => {
    const { intruder } = await ownerAndIntruder();
    await createTask(intruder, { title: "Secret santa" });
    expect((await listTasks(intruder, { q: "falcon", status: "all" })).data).toEqual([]);
    expect((await listTasks(intruder, { q: "secret", status: "all" })).data.map((t) => t.title)).toEqual([
      "Secret santa",
    ]);
  });

  it("when a user filters by a tag only another user has, then nothing is found", async () => {
    const { intruder } = await ownerAndIntruder();
    await createTask(intruder, { title: "untagged" });
    expect((await listTasks(intruder, { tag: "classified", status: "all" })).data).toEqual([]);
    expect((await listTasks(intruder, { tag: "classified,other", tagMatch: "any" })).data).toEqual([]);
  });

  it("when both users use one tag name, then each filter finds only the user's own tasks", async () => {
    const { owner, intruder } = await ownerAndIntruder();
    const mine = await createTask(intruder, { title: "mine", tags: ["classified"] });
    expect((await listTasks(intruder, { tag: "Classified" })).data.map((t) => t.id)).toEqual([mine.id]);
    expect((await listTasks(owner, { tag: "classified" })).data.map((t) => t.title)).toEqual([
      "Secret launch",
    ]);
  });

  it("when a user filters by another user's list or parent task, then the answer is the one for a random id", async () => {
    const { intruder, listId, secret } = await ownerAndIntruder();
    await createTask(intruder, { title: "mine" });
    for (const key of ["listId", "parentId"]) {
      const foreign = key === "listId" ? listId : secret.id;
      const stolen = await api.request
        .get("/v1/tasks")
        .query({ [key]: foreign, status: "all" })
        .set(intruder.auth)
        .expect(200);
      const random = await api.request
        .get("/v1/tasks")
        .query({ [key]: randomUUID(), status: "all" })
        .set(intruder.auth)
        .expect(200);
      expect(stolen.body).toEqual({ data: [], nextCursor: null });
      expect(stolen.body).toEqual(random.body);
    }
  });

  it("when a user sorts and pages through tasks, then another user's tasks never show up on any page", async () => {
    const { owner, intruder } = await ownerAndIntruder();
    for (let i = 0; i < 5; i++) {
      await createTask(owner, { title: `owner ${i}`, dueAt: `2026-12-0${i + 1}` });
      await createTask(intruder, { title: `intruder ${i}`, dueAt: `2026-12-0${i + 1}` });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await listTasks(intruder, {
        sort: "dueAt,title",
        limit: 2,
        ...(cursor === null ? {} : { cursor }),
      });
      seen.push(...page.data.map((t) => t.title));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `intruder ${i}`));
  });

  it("when a user pages with a cursor another user was given, then only the user's own tasks come back", async () => {
    const { owner, intruder } = await ownerAndIntruder();
    await createTask(owner, { title: "b owner" });
    await createTask(intruder, { title: "a mine" });
    await createTask(intruder, { title: "c mine" });
    const ownersPage = await listTasks(owner, { sort: "title", limit: 1 });
    const res = await api.request
      .get("/v1/tasks")
      .query({ sort: "title", limit: 10, cursor: ownersPage.nextCursor ?? "" })
      .set(intruder.auth)
      .expect(200);
    // The position is the owner's "Secret launch"; "b owner" would sort between the two but is not the user's.
    expect((res.body as Page).data.map((t) => t.title)).toEqual(["a mine", "c mine"]);
  });

  it("when a user lists tags, then another user's tags are not among them", async () => {
    const { intruder } = await ownerAndIntruder();
    await createTask(intruder, { title: "t", tags: ["mine"] });
    const res = await api.as(intruder).get("/v1/tags").expect(200);
    expect((res.body as { data: { name: string }[] }).data.map((t) => t.name)).toEqual(["mine"]);
  });

  it("when a user names a tag another user spelled differently, then the user's tag keeps the user's own spelling", async () => {
    const { owner, intruder } = await ownerAndIntruder();
    expect((await createTask(intruder, { title: "t", tags: ["CLASSIFIED"] })).tags).toEqual(["CLASSIFIED"]);
    expect((await readTask(owner, (await listTasks(owner, {})).data[0]?.id ?? "")).tags).toEqual([
      "Classified",
    ]);
  });
});

describe("references in bodies", () => {
  it("when a user creates a task in another user's list, then 422 exactly as for a list that does not exist, and nothing is created", async () => {
    const { owner, intruder, listId } = await ownerAndIntruder();
    const stolen = await api.as(intruder).post("/v1/tasks", { title: "t", listId });
    const random = await api.as(intruder).post("/v1/tasks", { title: "t", listId: randomUUID() });
    expect(stolen.status).toBe(422);
    expect(observable(stolen)).toEqual(observable(random));
    expect((stolen.body as ProblemBody).errors).toEqual([expect.objectContaining({ pointer: "/listId" })]);
    expect(await api.prisma.task.count({ where: { userId: intruder.id } })).toBe(0);
    expect(await api.prisma.task.count({ where: { listId } })).toBe(2);
    expect(await api.prisma.task.count({ where: { userId: owner.id } })).toBe(2);
  });

  it("when a user creates a subtask of another user's task, then 422 exactly as for a task that does not exist, and nothing is created", async () => {
    const { owner, intruder, secret } = await ownerAndIntruder();
    const stolen = await api.as(intruder).post("/v1/tasks", { title: "t", parentId: secret.id });
    const random = await api.as(intruder).post("/v1/tasks", { title: "t", parentId: randomUUID() });
    expect(stolen.status).toBe(422);
    expect(observable(stolen)).toEqual(observable(random));
    expect((stolen.body as ProblemBody).errors).toEqual([expect.objectContaining({ pointer: "/parentId" })]);
    expect(await api.prisma.task.count({ where: { userId: intruder.id } })).toBe(0);
    expect(await readTask(owner, secret.id)).toEqual(secret);
  });

  it("when a user moves an own task into another user's list or under another user's task, then 422 as for unknown ids and the task is unchanged", async () => {
    const { intruder, listId, secret } = await ownerAndIntruder();
    const mine = await createTask(intruder, { title: "mine" });
    for (const [key, foreign] of [
      ["listId", listId],
      ["parentId", secret.id],
    ] as const) {
      const stolen = await api.as(intruder).patch(`/v1/tasks/${mine.id}`, { [key]: foreign });
      const random = await api.as(intruder).patch(`/v1/tasks/${mine.id}`, { [key]: randomUUID() });
      expect(stolen.status).toBe(422);
      expect(observable(stolen)).toEqual(observable(random));
    }
    expect(await readTask(intruder, mine.id)).toEqual(mine);
  });
});

describe("idempotency keys", () => {
  it("when two users create with the same key and body, then each gets a task of their own and neither is a replay", async () => {
    const alice = await api.signUp();
    const bob = await api.signUp();
    const first = await postWithKey(alice, "/v1/tasks", { title: "same" }, "shared").expect(201);
    const second = await postWithKey(bob, "/v1/tasks", { title: "same" }, "shared").expect(201);
    expect(second.headers["idempotent-replayed"]).toBeUndefined();
    expect((second.body as TaskView).id).not.toBe((first.body as TaskView).id);
    expect(await api.prisma.task.count({ where: { userId: alice.id } })).toBe(1);
    expect(await api.prisma.task.count({ where: { userId: bob.id } })).toBe(1);
  });

  it("when a user reuses another user's key with another body, then it is a fresh request, not a 422", async () => {
    const alice = await api.signUp();
    const bob = await api.signUp();
    await postWithKey(alice, "/v1/tasks", { title: "alice's" }, "shared").expect(201);
    const res = await postWithKey(bob, "/v1/tasks", { title: "bob's" }, "shared").expect(201);
    expect((res.body as TaskView).title).toBe("bob's");
  });

  it("when a user completes with a key another user used, then the user's own task is completed and the other's response is not replayed", async () => {
    const alice = await api.signUp();
    const bob = await api.signUp();
    const alices = await createTask(alice, { title: "alice's" });
    const bobs = await createTask(bob, { title: "bob's" });
    await postWithKey(alice, `/v1/tasks/${alices.id}/complete`, undefined, "done").expect(200);
    const res = await postWithKey(bob, `/v1/tasks/${bobs.id}/complete`, undefined, "done").expect(200);
    expect(res.headers["idempotent-replayed"]).toBeUndefined();
    expect(res.body).toMatchObject({ id: bobs.id, completed: true });
  });

  it("when a user replays another user's create request with the same key, then the first user's task is not revealed", async () => {
    const alice = await api.signUp();
    const bob = await api.signUp();
    const alices = await postWithKey(alice, "/v1/tasks", { title: "plan" }, "k").expect(201);
    const bobs = await postWithKey(bob, "/v1/tasks", { title: "plan" }, "k").expect(201);
    expect(bobs.headers.location).not.toBe(alices.headers.location);
    expect(await readTask(bob, (bobs.body as TaskView).id)).toEqual(bobs.body);
    expect((await api.as(bob).get(alices.headers.location ?? "")).status).toBe(404);
  });

  it("when another user's key was used on a task the user cannot see, then nothing was stored for either user", async () => {
    const { owner, intruder, secret } = await ownerAndIntruder();
    expect((await postWithKey(intruder, `/v1/tasks/${secret.id}/complete`, undefined, "probe")).status).toBe(
      404,
    );
    expect(
      await api.prisma.idempotencyKey.count({ where: { userId: { in: [owner.id, intruder.id] } } }),
    ).toBe(0);
    // The owner can still use the key for a real request.
    const res = await postWithKey(owner, `/v1/tasks/${secret.id}/complete`, undefined, "probe").expect(200);
    expect(res.headers["idempotent-replayed"]).toBeUndefined();
  });
});
