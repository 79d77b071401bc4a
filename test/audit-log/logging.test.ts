import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { APP_TOKEN, snapshot, startAuditLog, taskEvent, type TestAuditLog } from "./audit-log.ts";

interface Line {
  level: string;
  msg?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
}

const lines: Line[] = [];
let audit: TestAuditLog;
beforeAll(async () => {
  const logger = pino(
    { level: "debug", formatters: { level: (label) => ({ level: label }) } },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Line);
      },
    },
  );
  audit = await startAuditLog({ logger });
});
afterAll(async () => {
  await audit.close();
});

/** The request line pino-http wrote for a request (written when the response finishes). */
async function requestLine(method: string, url: string, status: number): Promise<Line> {
  return vi.waitFor(
    () => {
      const line = lines.find(
        (l) => l.req?.method === method && l.req.url === url && l.res?.statusCode === status,
      );
      if (!line) throw new Error(`no request line for ${method} ${url} ${status}`);
      return line;
    },
    { timeout: 10_000, interval: 20 },
  );
}

describe("request logging", () => {
  it("when the sidecar delivers events, then the request line is debug (one per delivery under load)", async () => {
    const task = snapshot({ id: randomUUID(), userId: randomUUID() });
    expect(await audit.deliver(taskEvent(EVENT_TYPES.taskCreated, { task }))).toBe("SUCCESS");
    expect((await requestLine("POST", "/events/task-events", 200)).level).toBe("debug");
  });

  it("when a delivery is refused (401), then its line stays info; history reads stay info", async () => {
    await audit.request.post("/events/task-events").send({}).expect(401);
    expect((await requestLine("POST", "/events/task-events", 401)).level).toBe("info");

    const url = `/internal/tasks/${randomUUID()}/history?userId=u`;
    await audit.request.get(url).set("dapr-api-token", APP_TOKEN).expect(200);
    expect((await requestLine("GET", url, 200)).level).toBe("info");
  });
});
