/**
 * Every curl in README.md works as written (issue 10): the commands are read from the README's
 * `sh` blocks (continuation lines joined, pipes kept), the README's ports become the stack's,
 * $TOKEN and $PAT are a fresh user's session token (sign-up's set-auth-token, as the quick start
 * says) and personal access token, and each command runs in bash with the real curl against a
 * real stack (task-api, notifications, mcp-server with their sidecars). Each must answer 2xx;
 * the live stream's `curl -N` must receive its `: connected` line (then it is stopped).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { signUpThroughTaskApi } from "../support/stack-users.ts";
import { useStack, type AppName } from "../support/stack.ts";

const README = readFileSync(path.join(import.meta.dirname, "../../README.md"), "utf8");
/** The README's ports (npm start's defaults). */
const README_PORTS: Record<string, AppName> = {
  "3000": "task-api",
  "3001": "mcp-server",
  "3002": "notifications",
};

/** The curl commands of the README's sh blocks, one string each (continuations joined). */
export function readmeCurls(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const lines = (block[1] ?? "").split("\n");
    for (let i = 0; i < lines.length; i++) {
      let command = lines[i] ?? "";
      while (command.trimEnd().endsWith("\\") && i + 1 < lines.length) {
        command = `${command.trimEnd().slice(0, -1)} ${(lines[++i] ?? "").trim()}`;
      }
      if (/^\s*curl\s/.test(command)) commands.push(command.trim());
    }
  }
  return commands;
}

const STATUS_MARK = "__readme_status__";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one README command in bash; curl reports each response's status after its body. */
function run(command: string, env: Record<string, string>, options: { until?: RegExp } = {}): Promise<Run> {
  const script = `curl() { command curl -w '\\n${STATUS_MARK}%{http_code}\\n' "$@"; }\n${command}`;
  return new Promise((resolve, reject) => {
    // Its own process group: stopping the stream's curl means stopping bash's children too.
    const child = spawn("bash", ["-c", script], {
      env: { ...process.env, ...env },
      stdio: "pipe",
      detached: true,
    });
    const stop = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      stop("SIGKILL");
    }, 30_000);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      if (options.until?.test(stdout)) stop("SIGTERM");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("the README's curl commands", () => {
  const commands = readmeCurls(README);
  const stack = useStack({
    apps: ["task-api", "notifications", "mcp-server"],
    env: {
      // As npm start: the MCP resource is named by localhost, which the README's curl uses.
      "task-api": { PROTECTED_RESOURCES: "http://localhost:{port:mcp-server}/mcp" },
      "mcp-server": { MCP_RESOURCE_URL: "http://localhost:{port:mcp-server}/mcp" },
    },
  });

  it("when the README is read, then it has the quick start's, the stream's and the MCP server's curls", () => {
    expect(commands.length).toBeGreaterThanOrEqual(7);
    expect(commands.some((c) => c.includes("/api/auth/sign-up/email"))).toBe(true);
    expect(commands.some((c) => c.includes("localhost:3002/v1/stream"))).toBe(true);
    expect(commands.some((c) => c.includes("localhost:3001/mcp") && c.includes("$PAT"))).toBe(true);
  });

  it("when each curl of the README runs as written against the stack, then each succeeds", async () => {
    const s = stack();
    const toStack = (command: string): string =>
      command.replace(/localhost:(300[0-2])\b/g, (_m, port: string) => {
        const app: AppName | undefined = README_PORTS[port];
        if (app === undefined) throw new Error(`no app for README port ${port}`);
        return `localhost:${new URL(s.urls[app] ?? "").port}`;
      });
    const user = await signUpThroughTaskApi(s.urls["task-api"] ?? "");
    const created = await fetch(`${s.urls["task-api"] ?? ""}/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.sessionToken}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "readme", scope: "read-write" }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { token: pat } = (await created.json()) as { token: string };
    const env = { TOKEN: user.sessionToken, PAT: pat };

    const failures: string[] = [];
    for (const command of commands) {
      const local = toStack(command);
      const stream = /curl -N\b/.test(command);
      const result = await run(local, env, stream ? { until: /^: connected$/m } : {});
      const statuses = [...result.stdout.matchAll(new RegExp(`${STATUS_MARK}(\\d{3})`, "g"))].map((m) =>
        Number(m[1]),
      );
      const piped = /\|\s*grep\b/.test(command);
      const ok = stream
        ? /^: connected$/m.test(result.stdout)
        : piped
          ? result.code === 0 && result.stdout.trim() !== ""
          : result.code === 0 && statuses.length > 0 && statuses.every((x) => x >= 200 && x < 300);
      if (!ok)
        failures.push(
          `${command}\n  exit ${String(result.code)}, statuses [${statuses.join(", ")}]\n  ${result.stdout.slice(0, 600)}${result.stderr.slice(0, 300)}`,
        );
    }
    expect(failures, failures.join("\n\n")).toEqual([]);
  }, 180_000);
});
