import { afterAll, beforeAll, describe, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

describe("scratch", () => {
  let api: TestTaskApi;
  beforeAll(async () => { api = await startTaskApi(); });
  afterAll(async () => { await api.close(); });

  it("explores", async () => {
    const user = await api.signUp({ timeZone: "Europe/Berlin" });
    for (let i = 0; i < 3; i++) await api.request.post("/v1/tasks").set(user.auth).send({ title: `t${i}`, dueAt: `2026-12-0${i + 1}`, priority: "high" }).expect(201);
    for (const sort of ["dueAt", "priority", "title", "createdAt"]) {
      const page = await api.request.get("/v1/tasks").query({ limit: 1, sort }).set(user.auth).expect(200);
      const cursor = JSON.parse(Buffer.from(page.body.nextCursor, "base64url").toString());
      console.log(sort, cursor);
      for (const v of ["garbage", "a\u0000", 5, "2026-13-01"]) {
        const bad = Buffer.from(JSON.stringify({ ...cursor, v: [v] })).toString("base64url");
        const r = await api.request.get("/v1/tasks").query({ limit: 1, sort, cursor: bad }).set(user.auth);
        console.log(sort, JSON.stringify(v), r.status);
      }
    }
    const created = await api.request.post("/v1/tasks").set(user.auth).send({ title: "etag" }).expect(201);
    for (const inm of ['"1"', 'W/"1"', '"0", "1"', "*", '"2"']) {
      const r = await api.request.get(`/v1/tasks/${created.body.id}`).set(user.auth).set("If-None-Match", inm);
      console.log("INM", inm, r.status);
    }
    const l1 = await api.request.post("/v1/lists").set(user.auth).send({ name: "L1" }).expect(201);
    const l2 = await api.request.post("/v1/lists").set(user.auth).send({ name: "L2" }).expect(201);
    const parent = await api.request.post("/v1/tasks").set(user.auth).send({ title: "p", listId: l1.body.id }).expect(201);
    const sub = await api.request.post("/v1/tasks").set(user.auth).send({ title: "s", parentId: parent.body.id }).expect(201);
    console.log("sub list", sub.body.listId === l1.body.id);
    const moved = await api.request.patch(`/v1/tasks/${sub.body.id}`).set(user.auth).send({ listId: l2.body.id });
    console.log("move sub", moved.status, moved.body.listId === l2.body.id);
    const moved2 = await api.request.patch(`/v1/tasks/${sub.body.id}`).set(user.auth).send({ listId: null });
    console.log("move sub null", moved2.status, moved2.body.listId);
    const q = await api.request.get("/v1/tasks").query({ limit: 1, "status": "all", "priority": "high", "foo": "x" }).set(user.auth);
    console.log(q.status, q.body);
    const r = await api.request.post("/v1/tasks").set(user.auth).set("Content-Type", "application/json").send("null");
    console.log("null body", r.status, r.body.type);
    const r2 = await api.request.post("/v1/tasks").set(user.auth).set("Content-Type", "application/json").send("[]");
    console.log("array body", r2.status, r2.body.type, r2.body.errors);
    const r3 = await api.request.post("/v1/tasks").set(user.auth);
    console.log("no body", r3.status, r3.body.type, r3.body.errors);
    const r4 = await api.request.post("/v1/tasks").set(user.auth).send({ title: "x", userId: "u", id: "x", createdAt: "x", updatedAt: "x", version: 3, completedAt: null, completed: true, owner: "x" });
    console.log("forbidden", r4.status, r4.body.errors);
  });
});
