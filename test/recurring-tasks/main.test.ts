import { beforeAll, describe, expect, it } from "vitest";
import { buildServices } from "../../scripts/build.ts";
import { collectLines, spawnBuiltService } from "../support/service-process.ts";

/** The built service as production runs it (node dist/main.js). */
function run(env: Record<string, string>) {
  const child = spawnBuiltService("recurring-tasks", env);
  const lines = collectLines(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

async function until<T>(what: string, probe: () => T | undefined, lines: string[]): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen:\n${lines.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("recurring-tasks main", () => {
  beforeAll(async () => {
    await buildServices(["recurring-tasks"]);
  }, 60_000);

  it("when SIGTERM arrives, then readiness turns 503 during the drain and the process exits 0", async () => {
    const { child, lines, exited } = run({ APP_API_TOKEN: "app-token", SHUTDOWN_DRAIN_DELAY_MS: "1500" });
    const url = await until(
      "the ready line",
      () =>
        lines
          .map((line) => JSON.parse(line) as { msg?: string; url?: string })
          .find((entry) => entry.msg === "recurring-tasks ready")?.url,
      lines,
    );
    const base = url.replace("localhost", "127.0.0.1");
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    child.kill("SIGTERM");
    await until(
      "the shutdown line",
      () => (lines.some((l) => l.includes('"shutting down"')) ? true : undefined),
      lines,
    );
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"stopped"'))).toBe(true);
  });

  it("when APP_API_TOKEN is missing, then it refuses to start and names it", async () => {
    const { lines, exited } = run({});
    expect(await exited).toBe(1);
    expect(lines.join("\n")).toMatch(/APP_API_TOKEN/);
  });
});
