import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildServices } from "../../scripts/build.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { spawnBuiltService } from "../support/service-process.ts";

const root = path.resolve(import.meta.dirname, "../..");
// One secret for every run against the test database: the JWT signing keys are encrypted with it.
const SECRET = "shutdown-test-secret-0123456789-abcdef";

/** Starts the built service as production would (node dist/main.js) and waits for its ready line. */
async function startService(
  env: Record<string, string>,
): Promise<{ child: ChildProcessWithoutNullStreams; port: number; lines: string[] }> {
  const child = spawnBuiltService("task-api", env, process.env);
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ready line:\n${lines.join("\n")}`));
    }, 30_000);
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === "task-api ready" && parsed.url) {
        clearTimeout(timer);
        resolve(Number(new URL(parsed.url).port));
      }
    });
    readline.createInterface({ input: child.stderr }).on("line", (line) => lines.push(line));
    child.once("exit", (code) => {
      reject(new Error(`exited with ${code}:\n${lines.join("\n")}`));
    });
  });
  return { child, port, lines };
}

const received = new WeakMap<net.Socket, string>();
function raw0(socket: net.Socket): string {
  return received.get(socket) ?? "";
}

describe("graceful shutdown", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await buildServices(["task-api"]);
  });
  afterAll(async () => {
    await database.drop();
  });

  it("when SIGTERM arrives mid-request, then readiness turns 503, the request completes and the process exits 0", async () => {
    const { child, port, lines } = await startService({
      DATABASE_URL: database.connectionString,
      BETTER_AUTH_SECRET: SECRET,
      SHUTDOWN_DRAIN_DELAY_MS: "1500",
    });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    const signUp = await fetch(`http://127.0.0.1:${port}/api/auth/sign-up/email`, {
      method: "POST",
      // A server-side client: no Origin (PORT=0 leaves PUBLIC_URL without the real port anyway).
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "drain@example.com", password: "correct-horse-battery", name: "Drain" }),
    });
    const token = signUp.headers.get("set-auth-token");
    expect(token).toBeTruthy();

    // An in-flight request: headers sent, body still coming; its answer needs the whole body.
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const body = JSON.stringify({ title: "in flight" });
    socket.write(
      `POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${String(token)}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    const response = new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        received.set(socket, text);
      });
      socket.on("end", () => {
        resolve(text);
      });
      socket.on("close", () => {
        resolve(text);
      });
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        resolve(code);
      }),
    );

    await new Promise((r) => setTimeout(r, 200));
    expect(raw0(socket)).toBe(""); // nothing answered before the body is complete
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const readiness = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readiness.status).toBe(503);
    expect(readiness.headers.get("content-type")).toContain("application/problem+json");

    socket.write(body.slice(5));
    const raw = await response;
    // The request was served in full after SIGTERM, not cut off.
    expect(raw).toMatch(/^HTTP\/1\.1 201/);
    expect(raw).toContain('"title":"in flight"');

    expect(await exited).toBe(0);
    const messages = lines.map((l) => (JSON.parse(l) as { msg?: string }).msg);
    expect(messages).toContain("shutting down");
    expect(messages.at(-1)).toBe("stopped");
  });

  it("when the database drops every connection, then the service keeps running and serves again", async () => {
    const { child, port, lines } = await startService({
      DATABASE_URL: database.connectionString,
      BETTER_AUTH_SECRET: SECRET,
    });
    try {
      const signUp = await fetch(`http://127.0.0.1:${port}/api/auth/sign-up/email`, {
        method: "POST",
        // A server-side client: no Origin (PORT=0 leaves PUBLIC_URL without the real port anyway).
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          email: "restart@example.com",
          password: "correct-horse-battery",
          name: "Restart",
        }),
      });
      const auth = { authorization: `Bearer ${String(signUp.headers.get("set-auth-token"))}` };
      expect((await fetch(`http://127.0.0.1:${port}/v1/tasks`, { headers: auth })).status).toBe(200);

      // What a PostgreSQL restart or failover does to the pool's idle connections.
      const admin = new pg.Client({ connectionString: inject("postgresAdminUrl") });
      await admin.connect();
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [database.name],
      );
      await admin.end();
      expect(rowCount).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 300));

      expect(child.exitCode).toBeNull();
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const created = await fetch(`http://127.0.0.1:${port}/v1/tasks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ title: "after the restart" }),
      });
      expect(created.status).toBe(201);
      expect(lines.some((l) => l.includes("database connection lost"))).toBe(true);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });

  it("when the configuration is invalid, then the service refuses to start and names the variable", async () => {
    const child = spawn(process.execPath, [path.join(root, "services/task-api/dist/main.js")], {
      cwd: root,
      env: { ...process.env, PORT: "not-a-port", NODE_ENV: "production", BETTER_AUTH_SECRET: "" },
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("PORT");
    expect(stderr).toContain("BETTER_AUTH_SECRET");
  });
});
