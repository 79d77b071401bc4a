import type { Response } from "supertest";
import { describe, expect, it } from "vitest";
import { call, failed, textOf, useAgent } from "../mcp-server/harness.ts";
import type { TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

/**
 * A recurrence whose series cannot be computed is refused when it is written (REST and MCP
 * add_task), promptly, with the owner's zone taken into account. With rrule 2.8.1 the first
 * POST below never returned (a replica spun forever).
 */

const PROMPT_MS = 2000;
const HANGING = { title: "x", dueAt: "2026-12-01T09:00:00Z", recurrence: "FREQ=HOURLY;INTERVAL=2;BYHOUR=18" };

interface Problem {
  type: string;
  status: number;
  code: string;
  errors?: { pointer: string; detail: string }[];
}

const api = useTaskApi();

function taskCount(user: TestUser): Promise<number> {
  return api.prisma.task.count({ where: { userId: user.id } });
}

/** Asserts a 422 problem+json whose only field is /recurrence, with a detail matching `why`. */
function expectRefused(res: Response, why: RegExp): void {
  expect(res.status).toBe(422);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.body as Problem;
  expect(body).toMatchObject({ status: 422, code: "validation-failed" });
  expect(body.errors?.map((e) => e.pointer)).toEqual(["/recurrence"]);
  expect(body.errors?.[0]?.detail).toMatch(why);
}

async function timed<T>(request: PromiseLike<T>): Promise<T> {
  const started = performance.now();
  const result = await request;
  expect(performance.now() - started).toBeLessThan(PROMPT_MS);
  return result;
}

describe("POST /v1/tasks with a recurrence that never yields a next task", () => {
  it("when INTERVAL=2 and BYHOUR=18 never meet from 09:00, then 422 naming /recurrence promptly and nothing is created", async () => {
    const user = await api.signUp();
    const res = await timed(api.request.post("/v1/tasks").set(user.auth).send(HANGING));
    expectRefused(res, /yields no occurrence within 10 years after dueAt/);
    expect(await taskCount(user)).toBe(0);
  });

  it.each([
    ["30 February", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"],
    ["INTERVAL=24 with another hour", "FREQ=HOURLY;INTERVAL=24;BYHOUR=10"],
    [
      "a task every second",
      "FREQ=HOURLY;BYMINUTE=" + Array.from({ length: 60 }, (_, i) => i).join(",") + ";BYSECOND=0,30",
    ],
  ])("when the rule is %s, then 422 naming /recurrence promptly", async (_, recurrence) => {
    const user = await api.signUp();
    const res = await timed(
      api.request
        .post("/v1/tasks")
        .set(user.auth)
        .send({ ...HANGING, recurrence }),
    );
    expectRefused(res, /./);
    expect(await taskCount(user)).toBe(0);
  });

  it("when the rule works in UTC but not in the owner's zone, then a UTC owner gets 201 and a Berlin owner 422 naming the zone", async () => {
    // 18:00 UTC is 19:00 in Berlin, from where every 2 hours is an odd hour.
    const body = { ...HANGING, dueAt: "2026-12-01T18:00:00Z" };
    const inUtc = await api.signUp({ timeZone: "UTC" });
    await api.request.post("/v1/tasks").set(inUtc.auth).send(body).expect(201);

    const inBerlin = await api.signUp({ timeZone: "Europe/Berlin" });
    const res = await timed(api.request.post("/v1/tasks").set(inBerlin.auth).send(body));
    expectRefused(res, /Europe\/Berlin/);
    expect(await taskCount(inBerlin)).toBe(0);
  });

  it("when a patch moves dueAt to where the rule cannot continue, then 422 and the task keeps its dueAt", async () => {
    const user = await api.signUp({ timeZone: "UTC" });
    const created = await api.request
      .post("/v1/tasks")
      .set(user.auth)
      .send({ ...HANGING, dueAt: "2026-12-01T18:00:00Z" })
      .expect(201);
    const id = (created.body as { id: string }).id;
    const res = await timed(
      api.request.patch(`/v1/tasks/${id}`).set(user.auth).send({ dueAt: "2026-12-01T09:00:00Z" }),
    );
    expectRefused(res, /within 10 years/);
    const stored = await api.request.get(`/v1/tasks/${id}`).set(user.auth).expect(200);
    expect((stored.body as { dueAt: string }).dueAt).toBe("2026-12-01T18:00:00.000Z");
  });
});

describe("MCP add_task with a recurrence that never yields a next task", () => {
  const { client } = useAgent("read-write", { timeZone: "Europe/Berlin" });

  it("when an agent adds the rule at 09:00 in the user's zone, then the tool call fails promptly with validation-failed naming recurrence", async () => {
    const started = performance.now();
    const text = await failed(client, "add_task", { ...HANGING, dueAt: "2026-12-01T09:00:00+01:00" });
    expect(performance.now() - started).toBeLessThan(PROMPT_MS);
    expect(text).toMatch(/^Error \(validation-failed\)/);
    expect(text).toMatch(/recurrence/);
    expect(text).toMatch(/within 10 years/);
  });

  it("when the rule is fine in UTC but the user lives in Berlin, then add_task fails too", async () => {
    const result = await call(client, "add_task", { ...HANGING, dueAt: "2026-12-01T18:00:00Z" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Europe\/Berlin/);
  });
});
