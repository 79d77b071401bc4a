/**
 * The stdio server in-process (startStdioServer on a pair of streams, as a desktop client's
 * pipes) against the real task-api's REST API with a personal access token. The built entry
 * (dist/stdio.js) as a child process is in test/stack/mcp-stdio.test.ts.
 */
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ResourceUpdatedNotificationSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStdioConfig, startStdioServer } from "../../services/mcp-server/src/mcp/stdio-server.ts";
import type { TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";
import { call } from "./tool-calls.ts";

/** The client's end of the pipes: what StdioClientTransport does with a child's stdin/stdout. */
class PipeClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #buffer = new ReadBuffer();
  constructor(
    private readonly toServer: PassThrough,
    private readonly fromServer: PassThrough,
  ) {}
  start(): Promise<void> {
    this.fromServer.on("data", (chunk: Buffer) => {
      this.#buffer.append(chunk);
      for (let message = this.#buffer.readMessage(); message; message = this.#buffer.readMessage())
        this.onmessage?.(message);
    });
    return Promise.resolve();
  }
  send(message: JSONRPCMessage): Promise<void> {
    this.toServer.write(serializeMessage(message));
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.toServer.end();
    this.onclose?.();
    return Promise.resolve();
  }
}

const api = useTaskApi();
let user: TestUser;
let apiUrl: string;
beforeAll(async () => {
  user = await api.signUp();
  apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});

async function stdioClient(
  scope: "read" | "read-write",
  pollMs = 1000,
): Promise<{ client: Client; server: McpServer }> {
  const token = (
    await api.request.post("/v1/tokens").set(user.auth).send({ name: "desktop", scope }).expect(201)
  ).body as {
    token: string;
  };
  const input = new PassThrough();
  const output = new PassThrough();
  const server = await startStdioServer(
    loadStdioConfig({
      TASKMESH_TOKEN: token.token,
      TASKMESH_API_URL: apiUrl,
      TASKMESH_POLL_MS: String(pollMs),
    }),
    { input, output },
  );
  const client = new Client({ name: "desktop", version: "1" });
  await client.connect(new PipeClientTransport(input, output));
  return { client, server };
}

describe("stdio server", () => {
  it("when a desktop client uses it with a read-write token, then the tools work against task-api's REST API", async () => {
    const { client, server } = await stdioClient("read-write");
    const added = await call(client, "add_task", { title: "from the desktop" });
    expect(added.isError ?? false).toBe(false);
    const listed = await call(client, "list_tasks", {});
    expect((listed.structuredContent as { tasks: { title: string }[] }).tasks.map((t) => t.title)).toContain(
      "from the desktop",
    );
    expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true });
    await client.close();
    await server.close();
  });

  it("when the token is read-only, then task-api refuses writes and the tool says so", async () => {
    const { client, server } = await stdioClient("read");
    const denied = await call(client, "add_task", { title: "no" });
    expect(denied.isError).toBe(true);
    expect(denied.content[0]?.type === "text" && denied.content[0].text).toMatch(/^Error \(forbidden\)/);
    await client.close();
    await server.close();
  });

  it("when a client subscribes to open tasks and a task is added elsewhere, then it is told the resource changed", async () => {
    const { client, server } = await stdioClient("read", 1000);
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: "taskmesh://tasks/open" });
    await expect(client.subscribeResource({ uri: "taskmesh://tasks/nothing" })).rejects.toThrow(
      /Unknown resource/,
    );

    await api.request.post("/v1/tasks").set(user.auth).send({ title: "added on the web" }).expect(201);
    const deadline = Date.now() + 20_000;
    while (updates.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(updates).toEqual(["taskmesh://tasks/open"]);

    await client.unsubscribeResource({ uri: "taskmesh://tasks/open" });
    await client.close();
    await server.close();
  });

  it("when the token is missing, then the configuration is refused before anything starts", () => {
    expect(() => loadStdioConfig({ TASKMESH_API_URL: apiUrl })).toThrow(/TASKMESH_TOKEN/);
    expect(loadStdioConfig({ TASKMESH_TOKEN: "tmpat_x" })).toEqual({
      TASKMESH_TOKEN: "tmpat_x",
      TASKMESH_API_URL: "http://localhost:3000",
      TASKMESH_POLL_MS: 15_000,
    });
  });
});
