import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTaskApi, type TestTaskApi } from "../support/task-api.ts";

describe("request logs", () => {
  const lines: Record<string, unknown>[] = [];
  let api: TestTaskApi;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    api = await startTaskApi({ logger: pino({ base: { service: "task-api" } }, sink) });
  });
  afterAll(async () => {
    await api.close();
  });

  it("when a request carries a traceparent, then its one JSON log line has the request id and the traceparent, and no credentials", async () => {
    const user = await api.signUp();
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    const res = await api
      .as(user)
      .get("/v1/tasks", { traceparent: traceparent, "X-Request-Id": "req-trace-1" })
      .expect(200);

    expect(res.headers["x-request-id"]).toBe("req-trace-1");
    const line = lines.filter((l) => (l.req as { id?: string } | undefined)?.id === "req-trace-1");
    expect(line).toHaveLength(1);
    expect(line[0]).toMatchObject({
      service: "task-api",
      traceparent,
      msg: "request completed",
      res: { statusCode: 200 },
    });
    expect(JSON.stringify(line[0])).not.toContain(user.accessToken);
  });
});
