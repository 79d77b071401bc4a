/**
 * @modelcontextprotocol/conformance server scenarios that apply to a domain server, against
 * the mcp-server of a real stack. The conformance client sends no credentials, so it talks to
 * a small local gateway that adds a user's personal access token and forwards everything else
 * untouched (Host and Origin included, so DNS-rebinding protection is the mcp-server's own).
 * The scenarios that need the "everything" fixture server (test:// resources, sampling,
 * elicitation, progress, images...) do not apply and are not run.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "@taskmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useStack } from "../support/stack.ts";
import { MCP_STACK_ENV, personalAccessToken, signUp } from "../mcp-server/support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const SCENARIOS = [
  "server-initialize",
  "ping",
  "logging-set-level",
  "tools-list",
  "resources-list",
  "prompts-list",
  "dns-rebinding-protection",
];

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

/** Forwards every request to `target`, adding the bearer token. */
function startGateway(target: URL, token: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, authorization: `Bearer ${token}` },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(port, "127.0.0.1", () => {
      resolve(server);
    }),
  );
}

function runConformance(
  url: string,
  scenario: string,
  outputDir: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // process.execPath: the Node 24 vitest runs on (the suite needs >= 22).
    const child = spawn(
      process.execPath,
      [
        path.join(root, "node_modules/@modelcontextprotocol/conformance/dist/index.js"),
        "server",
        "--url",
        url,
        "--scenario",
        scenario,
        "-o",
        outputDir,
      ],
      { cwd: outputDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => {
      resolve({ code, output });
    });
  });
}

async function checksIn(dir: string): Promise<Check[]> {
  const checks: Check[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    if (entry.endsWith("checks.json"))
      checks.push(...(JSON.parse(await readFile(path.join(dir, entry), "utf8")) as Check[]));
  }
  return checks;
}

describe("MCP conformance server scenarios against the stack's mcp-server", () => {
  const stack = useStack({
    apps: ["task-api", "mcp-server"],
    env: {
      ...MCP_STACK_ENV,
      "mcp-server": {
        ...MCP_STACK_ENV["mcp-server"],
        ALLOWED_HOSTS: "localhost",
        ALLOWED_ORIGINS: "http://localhost",
      },
    },
  });
  let gateway: http.Server | undefined;
  let url = "";
  let workDir = "";

  beforeAll(async () => {
    const s = stack();
    const user = await signUp(s);
    const { token } = await personalAccessToken(s, user, "read-write");
    const port = await freePort();
    gateway = await startGateway(new URL(s.urls["mcp-server"] ?? ""), token, port);
    url = `http://localhost:${port}/mcp`;
    workDir = await mkdtemp(path.join(tmpdir(), "mcp-conformance-"));
  });
  afterAll(async () => {
    await new Promise((resolve) => {
      if (gateway) gateway.close(resolve);
      else resolve(undefined);
    });
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  for (const scenario of SCENARIOS) {
    it(`when the conformance suite runs ${scenario}, then every check passes`, async () => {
      const outputDir = path.join(workDir, scenario);
      await mkdir(outputDir, { recursive: true });
      const { code, output } = await runConformance(url, scenario, outputDir);
      const checks = (await checksIn(outputDir)).filter(
        (c) => c.status === "FAILURE" || c.status === "SUCCESS",
      );
      const failures = checks.filter((c) => c.status === "FAILURE");
      expect(failures, output).toEqual([]);
      expect(checks.length, output).toBeGreaterThan(0);
      expect(code, output).toBe(0);
    });
  }
});
