/**
 * The benchmarks in smoke mode (scripts/bench/options.ts): each `npm run bench:<name> -- --smoke`
 * runs as a user would start it, with its own PostgreSQL and stack, and must finish and write its
 * JSON with every scenario measured. No figure is asserted: this proves the benchmarks still run
 * (bench:api once stopped starting when production mode began to require APP_API_TOKEN).
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

const root = path.resolve(import.meta.dirname, "../..");
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), "taskmesh-bench-smoke-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Runs `npm run bench:<name> -- --smoke --out <file>`; resolves with the parsed JSON it wrote. */
async function runSmoke(name: string): Promise<unknown> {
  const out = path.join(scratch, `${name}.json`);
  // None of the caller's BENCH_* knobs: the smoke run is the one the benchmark defines.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("BENCH_")));
  const started = performance.now();
  const child = spawn("npm", ["run", `bench:${name}`, "--", "--smoke", "--out", out], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const tail = output.join("").split("\n").slice(-60).join("\n");
  expect(code, `bench:${name} --smoke exited with ${code}:\n${tail}`).toBe(0);
  console.log(`bench:${name} --smoke: ${Math.round((performance.now() - started) / 1000)} s`);
  return JSON.parse(await readFile(out, "utf8")) as unknown;
}

const apiRun = z.object({ requests: z.number().int().positive(), non2xx: z.literal(0) });
const apiResult = z.object({
  smoke: z.literal(true),
  results: z.record(z.string(), z.object({ peak: apiRun, at80: apiRun })),
});

const pipelineRun = z.object({
  steps: z.array(z.object({ written: z.number().int().positive() })).min(1),
  half: z.object({
    written: z.number().int().positive(),
    latency: z.object({ count: z.number().positive() }),
  }),
});
const eventsResult = z.object({
  smoke: z.literal(true),
  results: z.array(
    z.object({
      mode: z.enum(["per-event", "bulk"]),
      dapr: pipelineRun,
      direct: pipelineRun,
      rest: z.object({
        reqPerSec: z.number().positive(),
        eventsPerSec: z.number().positive(),
        errors: z.literal(0),
      }),
    }),
  ),
});

const mcpResult = z.object({
  smoke: z.literal(true),
  results: z.record(
    z.string(),
    z.object({ calls: z.number().int().positive(), errors: z.literal(0), dropped: z.literal(0) }),
  ),
});

const daprClientResult = z.object({
  smoke: z.literal(true),
  results: z.array(
    z.object({
      operation: z.string(),
      client: z.string(),
      summary: z.object({ calls: z.number().int().positive(), errors: z.literal(0) }),
    }),
  ),
});

describe("benchmarks in smoke mode", () => {
  it("when bench:api runs in smoke mode, then it starts task-api in production mode, measures every scenario without a non-2xx answer and writes its JSON", async () => {
    const result = apiResult.parse(await runSmoke("api"));
    expect(Object.keys(result.results).sort()).toEqual(
      [
        "baseline GET by id (node:http + pg)",
        "baseline GET by id, prepared statement",
        "task-api GET /v1/tasks/:id",
        "task-api GET /v1/tasks (filtered, sorted, 50)",
        "task-api POST /v1/tasks",
      ].sort(),
    );
  }, 300_000);

  it("when bench:events runs in smoke mode, then both modes carry events through Dapr, the direct baseline and REST, and it writes its JSON", async () => {
    const result = eventsResult.parse(await runSmoke("events"));
    expect(result.results.map((r) => r.mode)).toEqual(["per-event", "bulk"]);
  }, 420_000);

  it("when bench:mcp runs in smoke mode, then every scenario's calls succeed and it writes its JSON", async () => {
    const result = mcpResult.parse(await runSmoke("mcp"));
    expect(Object.keys(result.results).sort()).toEqual(
      ["mcp get_task", "mcp list_tasks", "rest get", "rest list", "sidecar get", "sidecar list"].sort(),
    );
  }, 420_000);

  it("when bench:dapr runs in smoke mode, then every client makes every call against a real daprd without an error and it writes its JSON", async () => {
    const result = daprClientResult.parse(await runSmoke("dapr"));
    const operations = ["bulk publish", "invoke", "publish", "state get", "state save"];
    const clients = ["SDK HTTP", "SDK gRPC", "before: fetch client", "now: the port"];
    expect([...new Set(result.results.map((r) => r.operation))].sort()).toEqual(operations);
    for (const operation of operations)
      expect(
        result.results
          .filter((r) => r.operation === operation)
          .map((r) => r.client)
          .sort(),
      ).toEqual(clients);
  }, 300_000);
});
