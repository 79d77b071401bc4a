import { afterAll, beforeAll, describe, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

describe("scratch", () => {
  let api: TestTaskApi;
  beforeAll(async () => { api = await startTaskApi(); });
  afterAll(async () => { await api.close(); });

  it("explores", async () => {
    for (const v of ["0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]) {
      try { console.log(v, (await api.pool.query("select $1::timestamptz as t", [v])).rows); } catch (e) { console.log(v, "ERR", (e as Error).message); }
    }
    const user = await api.signUp({ timeZone: "Pacific/Kiritimati" });
    for (const dueAt of ["0000-01-01", "0001-01-01", "0000-01-01T00:00:00Z", "9999-12-31", "9999-12-31T23:59:59-14:00"]) {
      const r = await api.request.post("/v1/tasks").set(user.auth).send({ title: "x", dueAt });
      console.log(dueAt, r.status, r.body.dueAt, r.body.dueDate);
    }
    const r = await api.request.post("/v1/tasks").set(user.auth).send({ title: "x", remindAt: "0000-01-01T00:00:00Z" });
    console.log("remind", r.status);
    const r2 = await api.request.get("/v1/tasks").query({ dueBefore: "0000-01-01T00:00:00Z" }).set(user.auth);
    console.log("dueBefore", r2.status);
    const r3 = await api.request.get("/v1/tasks").query({ dueBefore: "0000-01-01" }).set(user.auth);
    console.log("dueBefore date", r3.status);
  });
});
