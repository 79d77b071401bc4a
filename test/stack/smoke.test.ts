/**
 * The post-deploy smoke test (scripts/smoke.ts, `npm run smoke`) against the real stack:
 * task-api, audit-log, notifications and mcp-server with their sidecars (mTLS, access control),
 * Kafka and PostgreSQL, run as a user runs it (a child process), and the ways it must fail:
 * an address where nothing answers, an MCP URL the server does not call itself, a stopped
 * service. Every run must clean up what it created.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { testPool } from "../support/postgres.ts";
import { useStack, type TestStack } from "../support/stack.ts";
import { MCP_STACK_ENV } from "../mcp-server/support.ts";

const root = path.resolve(import.meta.dirname, "../..");

interface SmokeRun {
  code: number | null;
  output: string;
}

function runSmoke(args: string[], env: Record<string, string> = {}): Promise<SmokeRun> {
  return new Promise((resolve, reject) => {
    // process.execPath: the Node 24 vitest runs on, as `npm run smoke` would use.
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/smoke.ts", ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, output });
    });
  });
}

/** The URLs as a deployment's clients would pass them: task-api by its PUBLIC_URL (localhost). */
function urls(s: TestStack): { url: string; mcpUrl: string; streamUrl: string } {
  const port = (app: "task-api" | "mcp-server" | "notifications") => new URL(s.urls[app] ?? "").port;
  return {
    url: `http://localhost:${port("task-api")}`,
    // MCP_STACK_ENV makes the mcp-server call itself by 127.0.0.1 (its MCP_RESOURCE_URL).
    mcpUrl: `http://127.0.0.1:${port("mcp-server")}/mcp`,
    streamUrl: `http://localhost:${port("notifications")}/v1/stream`,
  };
}

function stepLine(output: string, status: "ok" | "FAIL" | "skip", step: string): string | undefined {
  return output.split("\n").find((line) => new RegExp(`^\\s+${status}\\s+${step}\\s`).test(line));
}

describe("npm run smoke against the stack", () => {
  const stack = useStack({
    apps: ["task-api", "audit-log", "notifications", "mcp-server"],
    env: MCP_STACK_ENV,
  });

  it("when every service is up, then every step passes, it exits 0, and the throwaway user is gone", async () => {
    const s = stack();
    const { url, mcpUrl, streamUrl } = urls(s);
    const run = await runSmoke(["--mcp-url", mcpUrl, "--stream-url", streamUrl, "--timeout", "90"], {
      TASKMESH_URL: url,
    });
    expect(run.code, run.output).toBe(0);
    for (const step of [
      "health",
      "oauth",
      "mcp metadata",
      "sign in",
      "access token",
      "open stream",
      "create task",
      "read task",
      "list tasks",
      "update task",
      "complete task",
      "live stream",
      "history",
      "personal access token",
      "mcp initialize",
      "mcp tools/list",
      "mcp get_task",
      "revoke token",
      "delete task",
      "delete account",
    ])
      expect(stepLine(run.output, "ok", step), `step ${step}\n${run.output}`).toBeDefined();
    expect(stepLine(run.output, "ok", "history")).toMatch(/task\.created.*task\.updated.*task\.completed/);
    expect(run.output).toMatch(/smoke test passed: 20 steps in [\d.]+ s/);

    const userId = /signed up \S+ \(([^)]+)\)/.exec(run.output)?.[1];
    expect(userId).toBeDefined();
    const pool = testPool(s.databaseUrl, 1);
    try {
      const users = await pool.query("SELECT 1 FROM users WHERE id = $1", [userId]);
      expect(users.rowCount).toBe(0);
      const tokens = await pool.query("SELECT 1 FROM personal_access_tokens WHERE user_id = $1", [userId]);
      expect(tokens.rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  }, 240_000);

  it("when the stream URL points where nothing listens, then it fails at 'open stream', exits 1 and still deletes the user", async () => {
    const s = stack();
    const { url, mcpUrl } = urls(s);
    const run = await runSmoke([
      "--url",
      url,
      "--mcp-url",
      mcpUrl,
      "--stream-url",
      "http://127.0.0.1:9/v1/stream",
    ]);
    expect(run.code, run.output).toBe(1);
    expect(stepLine(run.output, "FAIL", "open stream"), run.output).toMatch(/ECONNREFUSED|bad port/);
    expect(run.output).toContain('smoke test FAILED at step "open stream"');
    expect(stepLine(run.output, "ok", "create task")).toBeUndefined();
    expect(stepLine(run.output, "ok", "delete account"), run.output).toBeDefined();
  }, 60_000);

  it("when the MCP URL is not the one the server calls itself, then 'mcp metadata' fails and names MCP_RESOURCE_URL", async () => {
    const s = stack();
    const { url, streamUrl } = urls(s);
    const wrongMcp = `http://localhost:${new URL(s.urls["mcp-server"] ?? "").port}/mcp`;
    const run = await runSmoke([url, "--mcp-url", wrongMcp, "--stream-url", streamUrl]);
    expect(run.code, run.output).toBe(1);
    expect(stepLine(run.output, "FAIL", "mcp metadata"), run.output).toContain("MCP_RESOURCE_URL");
    expect(run.output).toContain('smoke test FAILED at step "mcp metadata"');
    // It stopped before signing anyone up.
    expect(stepLine(run.output, "ok", "sign in")).toBeUndefined();
  }, 60_000);

  it("when the arguments are wrong, then it exits 2 with the usage", async () => {
    const none = await runSmoke([]);
    expect(none.code).toBe(2);
    expect(none.output).toContain("no URL: pass it as an argument, with --url or in TASKMESH_URL");
    const bad = await runSmoke(["--url", "ftp://example.com", "--skip", "history"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--url must be an http(s) URL");
    const skip = await runSmoke(["http://example.com", "--skip", "webhooks"]);
    expect(skip.code).toBe(2);
    expect(skip.output).toContain("--skip takes stream, history, mcp; got 'webhooks'");
  }, 60_000);

  it("when audit-log is stopped, then it fails at 'history' with task-api's 503, exits 1, deletes its task and keeps the given user", async () => {
    const s = stack();
    const { url, mcpUrl, streamUrl } = urls(s);
    const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
    await s.kill("audit-log", "app");
    const run = await runSmoke(
      // --timeout 5 would also bound the stream step, which a loaded machine can take longer
      // for: the stream is skipped here (it does not depend on audit-log anyway).
      ["--url", url, "--mcp-url", mcpUrl, "--stream-url", streamUrl, "--timeout", "5", "--skip", "stream"],
      {
        TASKMESH_SMOKE_TOKEN: user.sessionToken,
      },
    );
    expect(run.code, run.output).toBe(1);
    expect(stepLine(run.output, "ok", "sign in"), run.output).toContain("session of");
    expect(stepLine(run.output, "skip", "open stream"), run.output).toContain("--skip stream");
    expect(stepLine(run.output, "ok", "complete task"), run.output).toBeDefined();
    expect(stepLine(run.output, "FAIL", "history"), run.output).toMatch(/after 5 s: HTTP 503/);
    expect(run.output).toContain('smoke test FAILED at step "history"');
    expect(stepLine(run.output, "ok", "delete task"), run.output).toBeDefined();
    expect(stepLine(run.output, "ok", "delete account")).toBeUndefined();

    const me = await fetch(`${s.urls["task-api"] ?? ""}/v1/me`, { headers: user.auth });
    expect(me.status).toBe(200);
    const left = await fetch(`${s.urls["task-api"] ?? ""}/v1/tasks?status=all`, { headers: user.auth });
    expect(((await left.json()) as { data: unknown[] }).data).toEqual([]);
  }, 90_000);
});
