import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices } from "../../scripts/build.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { collectLines, spawnBuiltService } from "../support/service-process.ts";

/** Runs the built service as production does (node dist/main.js); collects its output lines. */
function run(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; lines: string[] } {
  const child = spawnBuiltService("audit-log", env);
  return { child, lines: collectLines(child) };
}

interface Ports {
  public: number;
  sidecar: number;
  operations: number;
}

async function readyPorts(child: ChildProcessWithoutNullStreams, lines: string[]): Promise<Ports> {
  return new Promise<Ports>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ready line:\n${lines.join("\n")}`));
    }, 30_000);
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const parsed = JSON.parse(line) as { msg?: string; ports?: Ports };
      if (parsed.msg === "audit-log ready" && parsed.ports) {
        clearTimeout(timer);
        resolve(parsed.ports);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${lines.join("\n")}`));
    });
  });
}

describe("audit-log process (dist/main.js)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await buildServices(["audit-log"]);
  });
  afterAll(async () => {
    await database.drop();
  });

  it("when started, then it is ready on three listeners; when SIGTERM arrives, then readiness turns 503 and it exits 0", async () => {
    const { child, lines } = run({
      DATABASE_URL: database.connectionString,
      APP_API_TOKEN: "process-test-token",
      SHUTDOWN_DRAIN_DELAY_MS: "3000",
    });
    const ports = await readyPorts(child, lines);
    const port = ports.operations;
    try {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
      // The sidecar-only routes: 401 without the app token on the Dapr app port, absent elsewhere.
      const events = (p: number): Promise<Response> =>
        fetch(`http://127.0.0.1:${p}/events/task-events`, {
          method: "POST",
          headers: { "dapr-api-token": "wrong" },
        });
      expect((await events(ports.sidecar)).status).toBe(401);
      expect((await events(ports.public)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${ports.public}/metrics`)).status).toBe(404);

      const exited = once(child, "exit");
      child.kill("SIGTERM");
      // During the drain delay the server still answers, but no longer as ready.
      const deadline = Date.now() + 10_000;
      let readiness = 200;
      while (readiness === 200 && Date.now() < deadline) {
        readiness = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      }
      expect(readiness).toBe(503);
      const [code] = (await exited) as [number | null];
      expect(code, lines.join("\n")).toBe(0);
      expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("when its configuration is missing, then it exits 1 naming every missing variable", async () => {
    const { child, lines } = run({});
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
    const output = lines.join("\n");
    expect(output).toContain("DATABASE_URL");
    expect(output).toContain("APP_API_TOKEN");
  });
});
