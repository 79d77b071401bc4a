import { randomUUID } from "node:crypto";
import { problemHandler, createLogger } from "@taskmesh/core";
import express from "express";
import supertest from "supertest";
import { describe, expect, it } from "vitest";
import { calledTools, toolCallLimits } from "../../services/mcp-server/src/http/tool-call-limits.ts";

const METADATA = "http://mcp.test/.well-known/oauth-protected-resource/mcp";
/** User ids as tokens carry them: the first is the one a request without x-user comes from. */
const [U1, U2, A, B, C] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];

function app(options: { perMinute: number; burst: number; clock: { now: number }; maxUsers?: number }) {
  const a = express();
  a.use(express.json());
  a.use((req, res, next) => {
    res.locals.bearer = {
      userId: req.header("x-user") ?? U1,
      scope: req.header("x-scope") === "read" ? "read" : "read-write",
      kind: "pat",
    };
    next();
  });
  a.use(
    toolCallLimits({
      writingTools: new Set(["add_task", "delete_task"]),
      perMinute: options.perMinute,
      burst: options.burst,
      resourceMetadataUrl: METADATA,
      now: () => options.clock.now,
      ...(options.maxUsers === undefined ? {} : { maxUsers: options.maxUsers }),
    }),
  );
  a.post("/mcp", (_req, res) => res.json({ passed: true }));
  a.use(problemHandler(createLogger({ service: "test", level: "silent" })));
  return supertest(a);
}

const toolCall = (name: string, id = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {} },
});

describe("calledTools", () => {
  it("when a body holds tools/call messages, then each call's tool is named, in a batch too", () => {
    expect(calledTools(toolCall("get_task"))).toEqual(["get_task"]);
    expect(
      calledTools([toolCall("a"), { jsonrpc: "2.0", method: "notifications/initialized" }, toolCall("b", 2)]),
    ).toEqual(["a", "b"]);
    expect(calledTools({ jsonrpc: "2.0", id: 1, method: "tools/list" })).toEqual([]);
    expect(calledTools({ jsonrpc: "2.0", id: 1, method: "tools/call", params: {} })).toEqual([""]);
    expect(calledTools(null)).toEqual([]);
    expect(calledTools([1, "x"])).toEqual([]);
  });
});

describe("tool-call limits", () => {
  it("when a user calls faster than the limit, then 429 with Retry-After until the bucket refills; other users are not affected", async () => {
    const clock = { now: 1_000_000 };
    const api = app({ perMinute: 60, burst: 2, clock });

    await api.post("/mcp").send(toolCall("get_task")).expect(200);
    await api.post("/mcp").send(toolCall("get_task")).expect(200);
    const limited = await api.post("/mcp").send(toolCall("get_task")).expect(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect((limited.body as { detail: string }).detail).toMatch(/60 per minute per user/);
    await api.post("/mcp").set("x-user", U2).send(toolCall("get_task")).expect(200);

    clock.now += 1000; // one token per second
    await api.post("/mcp").send(toolCall("get_task")).expect(200);
    await api.post("/mcp").send(toolCall("get_task")).expect(429);
  });

  it("when a batch holds several calls, then each counts, and one larger than the burst is refused outright", async () => {
    const clock = { now: 0 };
    const api = app({ perMinute: 60, burst: 3, clock });

    await api
      .post("/mcp")
      .send([toolCall("get_task", 1), toolCall("get_task", 2)])
      .expect(200);
    const limited = await api
      .post("/mcp")
      .send([toolCall("get_task", 3), toolCall("get_task", 4)])
      .expect(429);
    expect(limited.headers["retry-after"]).toBe("1");
    const tooBig = await api
      .post("/mcp")
      .send([1, 2, 3, 4].map((id) => toolCall("get_task", id)))
      .expect(400);
    expect((tooBig.body as { detail: string }).detail).toMatch(/at most 3 task-api calls.*this one makes 4/);
  });

  it("when a read-only token calls a writing tool, alone or in a batch, then 403 insufficient_scope naming tasks:write", async () => {
    const api = app({ perMinute: 60, burst: 10, clock: { now: 0 } });

    for (const body of [toolCall("delete_task"), [toolCall("get_task", 1), toolCall("add_task", 2)]]) {
      const res = await api.post("/mcp").set("x-scope", "read").send(body).expect(403);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
      expect(res.headers["www-authenticate"]).toContain('error="insufficient_scope"');
      expect(res.headers["www-authenticate"]).toContain('scope="tasks:read tasks:write"');
      expect(res.headers["www-authenticate"]).toContain(`resource_metadata="${METADATA}"`);
      expect((res.body as { detail: string }).detail).toMatch(/needs a read-write token/);
    }
    await api.post("/mcp").set("x-scope", "read").send(toolCall("get_task")).expect(200);
  });

  it("when the request calls no tool, then it is not counted", async () => {
    const api = app({ perMinute: 1, burst: 1, clock: { now: 0 } });
    for (let i = 0; i < 3; i++)
      await api.post("/mcp").send({ jsonrpc: "2.0", id: i, method: "tools/list" }).expect(200);
  });

  it("when more users are tracked than allowed, then full buckets are forgotten and limited users stay limited", async () => {
    const clock = { now: 0 };
    const api = app({ perMinute: 1, burst: 1, clock, maxUsers: 2 });
    await api.post("/mcp").set("x-user", A).send(toolCall("get_task")).expect(200);
    await api.post("/mcp").set("x-user", B).send(toolCall("get_task")).expect(200);
    clock.now += 60_000; // a and b are full again
    await api.post("/mcp").set("x-user", C).send(toolCall("get_task")).expect(200); // sweep: A and B go
    await api.post("/mcp").set("x-user", C).send(toolCall("get_task")).expect(429);
    await api.post("/mcp").set("x-user", A).send(toolCall("get_task")).expect(200);
  });
});
