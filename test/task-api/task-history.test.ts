/**
 * task-api through its real sidecar: GET /v1/tasks/:id/history read from audit-log by service
 * invocation (paging, a bad cursor, audit-log or its sidecar down), the outbox relay of the
 * running task-api draining into Kafka, and a trusted service (recurring-tasks) acting for a
 * user through the sidecars, with an occurrence key.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES, type HistoryPage } from "@taskmesh/contracts";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack, type TestStack } from "../support/stack.ts";
import { testPool } from "../support/postgres.ts";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("task-api through its sidecar", () => {
  const stack = useStack({ apps: ["task-api", "audit-log", "recurring-tasks"] });
  let pool: pg.Pool;
  let s: TestStack;
  let api: string;
  beforeAll(() => {
    s = stack();
    api = s.urls["task-api"] ?? "";
    pool = testPool(s.databaseUrl, 2);
  });
  afterAll(async () => {
    await pool.end();
  });

  async function history(taskId: string, auth: Record<string, string>, query = ""): Promise<Response> {
    return fetch(`${api}/v1/tasks/${taskId}/history${query}`, { headers: auth });
  }

  async function sendJson(
    method: "POST" | "PATCH",
    path: string,
    auth: Record<string, string>,
    body: object,
  ): Promise<Response> {
    return fetch(`${api}${path}`, {
      method,
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function pendingOutbox(): Promise<number> {
    const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM outbox_events");
    return Number(rows[0]?.n);
  }

  it("when a task has a long history, then its owner pages through it with cursors, and the running relay leaves the outbox empty", async () => {
    const { auth } = await signUpThroughTaskApi(api);
    const created = await sendJson("POST", "/v1/tasks", auth, { title: "Version 1" });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    for (let version = 2; version <= 5; version++) {
      const res = await sendJson("PATCH", `/v1/tasks/${id}`, auth, { title: `Version ${version}` });
      expect(res.status).toBe(200);
    }

    await waitFor("all five entries", async () => {
      const res = await history(id, auth, "?limit=100");
      const page = (await res.json()) as HistoryPage;
      return page.data.length === 5 ? page : undefined;
    });
    const sequences: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await history(id, auth, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as HistoryPage;
      expect(page.data.length).toBeLessThanOrEqual(2);
      sequences.push(...page.data.map((i) => i.sequence));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(sequences).toEqual([1, 2, 3, 4, 5]);

    const bad = await history(id, auth, "?cursor=not-a-cursor");
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/application\/problem\+json/);

    await waitFor("an empty outbox", async () => ((await pendingOutbox()) === 0 ? true : undefined));
  });

  it("when recurring-tasks creates an occurrence for a user through the sidecars, then it is the user's task, a repeat answers 200 with it, and its history names recurring-tasks", async () => {
    const { id: userId, auth } = await signUpThroughTaskApi(api);
    const occurrenceKey = `${randomUUID()}/2026-12-07T09:00:00.000Z`;
    // recurring-tasks' own sidecar: daprd sets dapr-caller-app-id from its mTLS identity, and
    // task-api's sidecar adds task-api's app token.
    const invoke = (daprUrl: string) =>
      fetch(`${daprUrl}/v1.0/invoke/task-api/method/v1/tasks`, {
        method: "POST",
        headers: {
          "dapr-api-token": s.daprApiToken,
          "content-type": "application/json",
          "x-taskmesh-user-id": userId,
          "x-taskmesh-occurrence-key": occurrenceKey,
        },
        body: JSON.stringify({ title: "Next occurrence", dueAt: "2026-12-07T09:00:00Z" }),
      });
    const first = await invoke(s.daprUrls["recurring-tasks"] ?? "");
    const firstText = await first.text();
    expect(first.status, firstText).toBe(201);
    const task = JSON.parse(firstText) as { id: string };
    const again = await invoke(s.daprUrls["recurring-tasks"] ?? "");
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(task.id);

    // The user sees it as theirs.
    const own = await fetch(`${api}/v1/tasks/${task.id}`, { headers: auth });
    expect(own.status).toBe(200);
    const page = await waitFor("the creation in the history", async () => {
      const res = await history(task.id, auth);
      const body = (await res.json()) as HistoryPage;
      return body.data.length > 0 ? body : undefined;
    });
    expect(page.data).toMatchObject([
      { type: EVENT_TYPES.taskCreated, sequence: 1, actor: { kind: "service", id: "recurring-tasks" } },
    ]);

    // audit-log may not call task-api's API at all (access control): no user is acted for.
    const denied = await invoke(s.daprUrls["audit-log"] ?? "");
    expect(denied.status).toBe(403);
  });

  it("when audit-log is down, then the history answers 503 with Retry-After, and again when its sidecar is down too; it answers 200 once both are back", async () => {
    const { auth } = await signUpThroughTaskApi(api);
    const created = await sendJson("POST", "/v1/tasks", auth, { title: "History while audit-log is away" });
    const { id } = (await created.json()) as { id: string };

    await s.kill("audit-log", "app");
    try {
      const res = await waitFor("a 503", async () => {
        const r = await history(id, auth);
        return r.status === 503 ? r : undefined;
      });
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);

      await s.kill("audit-log", "sidecar");
      const again = await history(id, auth);
      expect(again.status).toBe(503);
      expect(again.headers.get("retry-after")).toMatch(/^\d+$/);
      // task-api itself stays ready: its readiness does not depend on other services.
      expect((await fetch(`${api}/readyz`)).status).toBe(200);
    } finally {
      await s.restart("audit-log", "app");
      await s.restart("audit-log", "sidecar");
    }
    await waitFor("the history back", async () =>
      (await history(id, auth)).status === 200 ? true : undefined,
    );
  });
});
