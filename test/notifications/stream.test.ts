import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import { deleteStreamEventsBefore } from "../../services/notifications/src/data/stream-event.repository.ts";
import {
  openStream,
  poll,
  reminderDueEvent,
  startNotifications,
  taskEvent,
  type NotificationsHarness,
  type SseClient,
} from "./notifications-harness.ts";

describe("GET /v1/stream", () => {
  let h: NotificationsHarness;
  let alice: TestUser;
  let bob: TestUser;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    h = await startNotifications({
      maxStreamsPerUser: 2,
      heartbeatMs: 200,
      corsOrigins: ["https://app.example"],
    });
    [alice, bob] = await Promise.all([h.signUp(), h.signUp()]);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await h.close();
  });

  const open = async (headers: Record<string, string>, query = ""): Promise<SseClient> => {
    const stream = await openStream(`${h.baseUrl}/v1/stream${query}`, headers);
    streams.push(stream);
    return stream;
  };
  const created = (user: TestUser) =>
    taskEvent(EVENT_TYPES.taskCreated, { userId: user.id, taskId: randomUUID(), sequence: 1 });

  it("when no token or a bad token is sent, then 401 problem+json with WWW-Authenticate", async () => {
    const none = await h.request.get("/v1/stream").expect(401);
    expect(none.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="taskmesh"');

    const forged = `${alice.accessToken.slice(0, -4)}AAAA`;
    const bad = await h.request.get("/v1/stream").set("Authorization", `Bearer ${forged}`).expect(401);
    expect(bad.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    expect(bad.body).toMatchObject({ status: 401, code: "unauthenticated" });

    await h.request.get(`/v1/stream?access_token=${forged}`).expect(401);
    // Not a session any more (or never one): task-api's introspection says inactive.
    const madeUp = `${alice.sessionToken.slice(0, -6)}AAAAAA`;
    await h.request.get("/v1/stream").set("Authorization", `Bearer ${madeUp}`).expect(401);
  });

  it("when events of two users arrive, then each user's stream carries only that user's events, live", async () => {
    const aliceStream = await open(alice.auth);
    const bobStream = await open(bob.auth);
    expect(aliceStream.status).toBe(200);
    expect(aliceStream.headers.get("content-type")).toMatch(/^text\/event-stream/);

    const forAlice = created(alice);
    const forBob = created(bob);
    const aliceReminder = reminderDueEvent({
      userId: alice.id,
      taskId: forAlice.data.taskId,
      remindAt: new Date().toISOString(),
    });
    await h.deliver("task-events", forAlice);
    await h.deliver("task-events", forBob);
    await h.deliver("reminders", aliceReminder);

    await aliceStream.waitFor("alice's two events", (m) => m.length >= 2);
    await bobStream.waitFor("bob's event", (m) => m.length >= 1);
    expect(aliceStream.messages.map((m) => m.data.id)).toEqual([forAlice.id, aliceReminder.id]);
    expect(aliceStream.messages[1]?.data).toMatchObject({
      type: EVENT_TYPES.reminderDue,
      data: { userId: alice.id },
    });
    expect(bobStream.messages.map((m) => m.data.id)).toEqual([forBob.id]);
    // Ids are the stream positions, increasing.
    const ids = aliceStream.messages.map((m) => BigInt(m.id ?? "0"));
    expect(ids[1]).toBeGreaterThan(ids[0] ?? 0n);
    aliceStream.close();
    bobStream.close();
  });

  it("when a client reconnects with Last-Event-ID, then it gets what it missed, then live events", async () => {
    const first = await open(bob.auth);
    const missedBefore = [created(bob), created(bob), created(bob)];
    for (const event of missedBefore) await h.deliver("task-events", event);
    await first.waitFor("three events", (m) => m.length >= 3);
    const lastSeen = first.messages[0]?.id ?? "";
    first.close();

    const resumed = await open({ ...bob.auth, "Last-Event-ID": lastSeen });
    await resumed.waitFor("the two missed events", (m) => m.length >= 2);
    const live = created(bob);
    await h.deliver("task-events", live);
    await resumed.waitFor("the live event", (m) => m.length >= 3);
    expect(resumed.messages.map((m) => m.data.id)).toEqual([
      missedBefore[1]?.id,
      missedBefore[2]?.id,
      live.id,
    ]);
    resumed.close();
  });

  it("when the token comes as ?access_token= (EventSource), then the stream works and the token is never logged", async () => {
    const stream = await open({}, `?access_token=${encodeURIComponent(alice.accessToken)}`);
    expect(stream.status).toBe(200);
    const event = created(alice);
    await h.deliver("task-events", event);
    await stream.waitFor("the event", (m) => m.some((x) => x.data.id === event.id));
    stream.close();
    await h.request.get(`/v1/stream?access_token=not-a-token`).expect(401);
    const signature = alice.accessToken.split(".")[2] ?? "";
    expect(h.logs.join("")).not.toContain(signature);
    expect(h.logs.join("")).not.toContain("not-a-token");
    expect(h.logs.join("")).toContain("/v1/stream");
  });

  it("when the listening connection is lost, then it reconnects and open streams catch up", async () => {
    const stream = await open(bob.auth);
    const killed = await h.pool.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    );
    expect(killed.rowCount).toBe(1);
    const event = created(bob);
    await h.deliver("task-events", event);
    await stream.waitFor("the event stored while the listener was away", (m) =>
      m.some((x) => x.data.id === event.id),
    );
    await poll("the listener to listen again", async () => {
      const listening = await h.pool.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
      );
      return listening.rowCount === 1;
    });
    const next = created(bob);
    await h.deliver("task-events", next);
    await stream.waitFor("a live event after the reconnect", (m) => m.some((x) => x.data.id === next.id));
    stream.close();
  });

  it("when stream events are older than the retention, then the sweep deletes them and a resume starts after what is left", async () => {
    const old = created(alice);
    await h.deliver("task-events", old);
    await h.pool.query(
      "UPDATE stream_events SET created_at = now() - interval '2 days' WHERE event_id = $1",
      [old.id],
    );
    const kept = created(alice);
    await h.deliver("task-events", kept);
    expect(
      await deleteStreamEventsBefore(h.pool, new Date(Date.now() - 24 * 3600 * 1000)),
    ).toBeGreaterThanOrEqual(1);
    const gone = await h.pool.query("SELECT 1 FROM stream_events WHERE event_id = $1", [old.id]);
    expect(gone.rowCount).toBe(0);

    const resumed = await open({ ...alice.auth, "Last-Event-ID": "0" });
    await resumed.waitFor("the kept event", (m) => m.some((x) => x.data.id === kept.id));
    expect(resumed.messages.some((x) => x.data.id === old.id)).toBe(false);
    resumed.close();
  });

  it("when a stream is idle, then comment lines keep it alive", async () => {
    const stream = await open(alice.auth);
    await expect
      .poll(() => stream.comments.filter((c) => c === "heartbeat").length, { timeout: 30_000 })
      .toBeGreaterThanOrEqual(2);
    expect(stream.messages).toEqual([]);
    stream.close();
  });

  it("when a page on an allowed origin opens the stream, then CORS lets it, and another origin gets no CORS headers", async () => {
    const allowed = await h.request.get("/v1/stream").set("Origin", "https://app.example").expect(401);
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example");
    const other = await h.request.get("/v1/stream").set("Origin", "https://evil.example").expect(401);
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("when Last-Event-ID is not a stream id, then 422", async () => {
    const res = await h.request.get("/v1/stream").set(alice.auth).set("Last-Event-ID", "abc").expect(422);
    expect(res.body).toMatchObject({ errors: [{ in: "header", pointer: "/last-event-id" }] });
  });

  it("when a user opens more streams than allowed, then 429, and a closed stream frees its place", async () => {
    // Streams closed by earlier tests are gone once the server saw their connections end.
    await expect.poll(() => h.liveStream.size, { timeout: 30_000 }).toBe(0);
    const a = await open(alice.auth);
    const b = await open(alice.auth);
    expect([a.status, b.status]).toEqual([200, 200]);
    await h.request.get("/v1/stream").set(alice.auth).expect(429);
    a.close();
    await expect.poll(() => h.liveStream.size, { timeout: 30_000 }).toBeLessThan(2);
    const c = await open(alice.auth);
    expect(c.status).toBe(200);
    b.close();
    c.close();
  });

  it("when the service shuts down, then open streams end instead of holding the drain", async () => {
    const stream = await open(bob.auth);
    expect(stream.status).toBe(200);
    h.liveStream.close();
    await stream.waitForEnd();
    const refused = await h.request.get("/v1/stream").set(bob.auth).expect(503);
    expect(refused.headers["content-type"]).toMatch(/^application\/problem\+json/);
  });
});
