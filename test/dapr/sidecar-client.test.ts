/**
 * The port on @dapr/dapr (packages/dapr/src/sidecar-client.ts): what callers rely on, against a
 * real daprd (state with etags, publish) and against an HTTP server playing daprd for what a
 * real one will not do on demand (hang, name failed bulk entries, answer a stale-etag 500).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { CommunicationProtocolEnum, DaprClient, LogLevel } from "@dapr/dapr";
import { EVENT_TYPES, exampleEvents, PUBSUB_NAME } from "@taskmesh/contracts";
import { freePort, UnavailableError } from "@taskmesh/core";
import {
  createSidecarClient,
  SIDECAR_UNAVAILABLE_DETAIL,
  StateConflictError,
  type SidecarClient,
} from "@taskmesh/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServers, startBareApp } from "../support/servers.ts";
import { startStack, type TestStack } from "../support/stack.ts";

const ignore = (): void => undefined;
const event = exampleEvents()[EVENT_TYPES.taskUpdated];

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

type Answer = (seen: Seen) => { status: number; body: string } | "hang";

/** An HTTP server playing daprd: records every request, answers with `answer`. */
async function fakeDaprd(): Promise<{
  url: string;
  seen: Seen[];
  answer: { current: Answer };
  server: Server;
}> {
  const seen: Seen[] = [];
  const answer: { current: Answer } = { current: () => ({ status: 204, body: "" }) };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(request);
      const reply = answer.current(request);
      if (reply === "hang") return;
      res.writeHead(reply.status, { "content-type": "application/json" }).end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, answer, server };
}

async function rejection(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

describe("the sidecar client against an HTTP server playing daprd", () => {
  let daprd: Awaited<ReturnType<typeof fakeDaprd>>;
  beforeAll(async () => {
    daprd = await fakeDaprd();
  });
  afterAll(async () => {
    daprd.server.closeAllConnections();
    await closeServers([daprd.server]);
  });

  it("when daprd does not answer, then publish, state reads and saves fail after timeoutMs with the public detail", async () => {
    daprd.answer.current = () => "hang";
    const sidecar = createSidecarClient({ baseUrl: daprd.url, timeoutMs: 300 });
    const calls: [string, () => Promise<unknown>][] = [
      ["publish", () => sidecar.publish(PUBSUB_NAME, "task-events", event)],
      ["getState", () => sidecar.getState("store", "k")],
      ["saveState", () => sidecar.saveState("store", [{ key: "k", value: 1 }])],
      ["deleteState", () => sidecar.deleteState("store", "k")],
      ["invoke", () => sidecar.invoke("task-api", "v1/me")],
    ];
    for (const [name, call] of calls) {
      const started = performance.now();
      const error = await rejection(call());
      const elapsed = performance.now() - started;
      expect(error, name).toBeInstanceOf(UnavailableError);
      expect(error.message, name).toBe(SIDECAR_UNAVAILABLE_DETAIL);
      expect(elapsed, name).toBeGreaterThanOrEqual(250);
      expect(elapsed, name).toBeLessThan(2000);
    }
  });

  it("when no sidecar listens, then the first call of a new client fails at once instead of waiting for daprd to start", async () => {
    const sidecar = createSidecarClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 5000 });
    const started = performance.now();
    const error = await rejection(sidecar.getState("store", "k"));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((error.cause as Error).message).toMatch(/unreachable/);
  });

  it("when the client has an API token, then every call carries it; without one, none, even with DAPR_API_TOKEN in the environment", async () => {
    daprd.answer.current = (seen) =>
      seen.url.includes("/bulk") && seen.url.includes("/state/")
        ? { status: 200, body: "[]" }
        : { status: 204, body: "" };
    const exercise = async (sidecar: SidecarClient): Promise<void> => {
      await sidecar.publish(PUBSUB_NAME, "task-events", event);
      await sidecar.bulkPublish(PUBSUB_NAME, "task-events", [{ entryId: "1", event }]);
      await sidecar.saveState("store", [{ key: "k", value: 1 }]);
      await sidecar.deleteState("store", "k");
      await (await sidecar.invoke("task-api", "v1/me")).text();
    };
    daprd.seen.length = 0;
    await exercise(createSidecarClient({ baseUrl: daprd.url, apiToken: "the-token" }));
    expect(daprd.seen).toHaveLength(5);
    for (const seen of daprd.seen) expect(seen.headers["dapr-api-token"], seen.url).toBe("the-token");

    daprd.seen.length = 0;
    const previous = process.env.DAPR_API_TOKEN;
    process.env.DAPR_API_TOKEN = "from-the-environment";
    try {
      await exercise(createSidecarClient({ baseUrl: daprd.url }));
    } finally {
      if (previous === undefined) delete process.env.DAPR_API_TOKEN;
      else process.env.DAPR_API_TOKEN = previous;
    }
    expect(daprd.seen).toHaveLength(5);
    for (const seen of daprd.seen) expect(seen.headers["dapr-api-token"], seen.url).toBeUndefined();
  });

  it("when an event is published with a partition key, then daprd gets the CloudEvent as structured JSON with metadata.partitionKey", async () => {
    daprd.answer.current = () => ({ status: 204, body: "" });
    daprd.seen.length = 0;
    await createSidecarClient({ baseUrl: daprd.url }).publish(PUBSUB_NAME, "task-events", event, {
      partitionKey: "task-1",
    });
    const [seen] = daprd.seen;
    expect(seen?.method).toBe("POST");
    expect(seen?.url).toBe(`/v1.0/publish/${PUBSUB_NAME}/task-events?metadata.partitionKey=task-1`);
    expect(seen?.headers["content-type"]).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(seen?.body ?? "")).toEqual(event);
  });

  it("when daprd refuses a publish with its error text, then UnavailableError with the public detail and daprd's text only in the cause", async () => {
    const daprdError = JSON.stringify({
      errorCode: "ERR_PUBSUB_NOT_FOUND",
      message: "pubsub x not found at 10.0.0.7",
    });
    daprd.answer.current = () => ({ status: 404, body: daprdError });
    const error = await rejection(
      createSidecarClient({ baseUrl: daprd.url }).publish("x", "task-events", event),
    );
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(SIDECAR_UNAVAILABLE_DETAIL);
    expect(JSON.stringify(error)).not.toContain("10.0.0.7");
    expect((error.cause as Error).message).toContain("ERR_PUBSUB_NOT_FOUND");
  });

  it("when daprd names failed entries of a bulk publish, then bulkPublish returns exactly those ids", async () => {
    daprd.answer.current = () => ({
      status: 500,
      body: JSON.stringify({
        failedEntries: [{ entryId: "2", error: "broker said no" }],
        errorCode: "ERR_PUBSUB_PUBLISH_MESSAGE",
      }),
    });
    const failed = await createSidecarClient({ baseUrl: daprd.url }).bulkPublish(PUBSUB_NAME, "task-events", [
      { entryId: "1", event, partitionKey: "a" },
      { entryId: "2", event, partitionKey: "b" },
    ]);
    expect(failed).toEqual([{ entryId: "2", error: "broker said no" }]);
  });

  it("(why bulkPublish is not on the SDK) when daprd names failed entries, then @dapr/dapr 3.18.0's publishBulk reports none", async () => {
    // If this starts failing after an SDK upgrade, bulkPublish may move to the SDK.
    daprd.answer.current = () => ({
      status: 500,
      body: JSON.stringify({ failedEntries: [{ entryId: "2", error: "broker said no" }] }),
    });
    const sdk = new DaprClient({
      daprHost: "127.0.0.1",
      daprPort: new URL(daprd.url).port,
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: {
        level: LogLevel.Error,
        service: { error: ignore, warn: ignore, info: ignore, verbose: ignore, debug: ignore },
      },
    });
    sdk.daprClient.setIsInitialized(true);
    const result = await sdk.pubsub.publishBulk(PUBSUB_NAME, "task-events", [
      { entryID: "1", event },
      { entryID: "2", event },
    ]);
    expect(result.failedMessages).toEqual([]);
  });

  it("when daprd answers a save with an etag 409 or a 500 naming the etag mismatch, then StateConflictError", async () => {
    const sidecar = createSidecarClient({ baseUrl: daprd.url });
    for (const answer of [
      { status: 409, body: JSON.stringify({ errorCode: "ERR_STATE_SAVE", message: "etag mismatch" }) },
      {
        status: 500,
        body: JSON.stringify({
          errorCode: "ERR_STATE_SAVE",
          message: "failed saving state: possible etag mismatch",
        }),
      },
    ]) {
      daprd.answer.current = () => answer;
      const error = await rejection(sidecar.saveState("store", [{ key: "k", value: 1, etag: "3" }]));
      expect(error, answer.body).toBeInstanceOf(StateConflictError);
    }
    daprd.seen.length = 0;
    daprd.answer.current = () => ({ status: 204, body: "" });
    await sidecar.saveState("store", [{ key: "k", value: { a: 1 }, etag: "3", ttlInSeconds: 60 }]);
    expect(JSON.parse(daprd.seen[0]?.body ?? "")).toEqual([
      {
        key: "k",
        value: { a: 1 },
        etag: "3",
        options: { concurrency: "first-write" },
        metadata: { ttlInSeconds: "60" },
      },
    ]);
  });
});

describe("the sidecar client against a real daprd", () => {
  let stack: TestStack;
  let bare: Awaited<ReturnType<typeof startBareApp>>;
  let sidecar: SidecarClient;
  const store = "recurring-tasks-state";

  // recurring-tasks' sidecar alone (its state store, publishing to task-events.dead-letter); a
  // bare app stands in for the app.
  beforeAll(async () => {
    bare = await startBareApp();
    stack = await startStack({
      apps: [],
      externalApps: { "recurring-tasks": { port: bare.port } },
      mtls: false,
      waitForConsumers: false,
    });
    sidecar = createSidecarClient({
      baseUrl: stack.daprUrls["recurring-tasks"] ?? "",
      apiToken: stack.daprApiToken,
    });
  }, 180_000);
  afterAll(async () => {
    await stack.stop();
    await closeServers([bare.server]);
  }, 60_000);

  it("when a key was never saved, then getState is undefined", async () => {
    expect(await sidecar.getState(store, `missing-${randomUUID()}`)).toBeUndefined();
  });

  it("when a value is saved and read back, then it comes with an etag, and a save with a stale etag is a StateConflictError", async () => {
    const key = `k-${randomUUID()}`;
    await sidecar.saveState(store, [{ key, value: { n: 1, title: "first" } }]);
    const first = await sidecar.getState<{ n: number }>(store, key);
    expect(first?.value).toEqual({ n: 1, title: "first" });
    expect(first?.etag).toEqual(expect.any(String));

    await sidecar.saveState(store, [{ key, value: { n: 2 }, etag: first?.etag }]);
    const second = await sidecar.getState<{ n: number }>(store, key);
    expect(second?.value).toEqual({ n: 2 });
    expect(second?.etag).not.toBe(first?.etag);

    await expect(
      sidecar.saveState(store, [{ key, value: { n: 3 }, etag: first?.etag }]),
    ).rejects.toBeInstanceOf(StateConflictError);
    expect((await sidecar.getState<{ n: number }>(store, key))?.value).toEqual({ n: 2 });
  });

  it("when a key is deleted, with a stale etag it stays, with its etag it is gone", async () => {
    const key = `d-${randomUUID()}`;
    await sidecar.saveState(store, [{ key, value: "x" }]);
    const saved = await sidecar.getState(store, key);
    await sidecar.saveState(store, [{ key, value: "y" }]);
    await expect(sidecar.deleteState(store, key, saved?.etag)).rejects.toBeInstanceOf(StateConflictError);
    const current = await sidecar.getState(store, key);
    expect(current?.value).toBe("y");
    await sidecar.deleteState(store, key, current?.etag);
    expect(await sidecar.getState(store, key)).toBeUndefined();
  });

  it("when an event is published to a topic the app may publish to, then it resolves; to one it may not, then UnavailableError", async () => {
    await sidecar.publish(PUBSUB_NAME, "task-events.dead-letter", event, { partitionKey: "task-1" });
    const error = await rejection(sidecar.publish(PUBSUB_NAME, "reminders", event));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(SIDECAR_UNAVAILABLE_DETAIL);
  });

  it("when the API token is wrong, then calls fail as unavailable (daprd answers 401)", async () => {
    const wrong = createSidecarClient({
      baseUrl: stack.daprUrls["recurring-tasks"] ?? "",
      apiToken: "wrong",
    });
    const error = await rejection(wrong.getState(store, "k"));
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error.cause as Error).message).toMatch(/401/);
  });
});
