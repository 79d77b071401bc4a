/**
 * notifications' public surface (issue 10): the live stream takes every bearer token the REST API
 * takes (session token, JWT, personal access token; the non-JWTs introspected at a real task-api),
 * browsers get single-use stream tickets instead of tokens in URLs, no logged line carries a
 * token, and the /v1 routes have task-api's rate limits and helmet's headers.
 */
import { randomUUID } from "node:crypto";
import { EVENT_TYPES } from "@taskmesh/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestUser } from "../support/task-api.ts";
import {
  openStream,
  startNotifications,
  taskEvent,
  type NotificationsHarness,
  type SseClient,
} from "./notifications-harness.ts";

describe("notifications' stream authentication, tickets and log redaction", () => {
  let h: NotificationsHarness;
  let alice: TestUser;
  const streams: SseClient[] = [];
  beforeAll(async () => {
    h = await startNotifications({ maxStreamsPerUser: 5, streamTicketTtlMs: 1500 });
    alice = await h.signUp();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await h.close();
  });

  const open = async (path: string, headers: Record<string, string> = {}): Promise<SseClient> => {
    const stream = await openStream(`${h.baseUrl}${path}`, headers);
    streams.push(stream);
    return stream;
  };
  const createdFor = (user: TestUser) =>
    taskEvent(EVENT_TYPES.taskCreated, { userId: user.id, taskId: randomUUID(), sequence: 1 });
  const createPat = async (user: TestUser, scope: "read" | "read-write"): Promise<string> => {
    const res = await h.taskApi.request
      .post("/v1/tokens")
      .set("Authorization", `Bearer ${user.sessionToken}`)
      .send({ name: `stream ${scope}`, scope })
      .expect(201);
    return (res.body as { token: string }).token;
  };

  it("when the stream is opened with sign-up's session token, a JWT or a personal access token, then each gets the user's events", async () => {
    const pat = await createPat(alice, "read");
    const viaSession = await open("/v1/stream", { authorization: `Bearer ${alice.sessionToken}` });
    const viaJwt = await open("/v1/stream", alice.auth);
    const viaPat = await open("/v1/stream", { authorization: `Bearer ${pat}` });
    expect([viaSession.status, viaJwt.status, viaPat.status]).toEqual([200, 200, 200]);
    const event = createdFor(alice);
    await h.deliver("task-events", event);
    for (const stream of [viaSession, viaJwt, viaPat])
      await stream.waitFor("the event", (m) => m.some((x) => x.data.id === event.id));
    for (const stream of [viaSession, viaJwt, viaPat]) stream.close();

    // A revoked or made-up opaque token is refused (and a read-only PAT cannot write webhooks).
    await h.request
      .get("/v1/stream")
      .set("Authorization", "Bearer tmpat_AAAAAAAAAAAAAAAAAAAAAAAA")
      .expect(401);
    const write = await h.request
      .post("/v1/webhooks")
      .set("Authorization", `Bearer ${pat}`)
      .send({ url: "https://example.com/hook", eventTypes: [EVENT_TYPES.taskCreated] });
    expect(write.status).toBe(403);
  });

  it("when a browser gets a stream ticket, then GET /v1/stream?ticket= opens the stream once, and a replay, an expired or a made-up ticket is 401", async () => {
    const issued = await h.request
      .post("/v1/stream/tickets")
      .set("Authorization", `Bearer ${alice.sessionToken}`)
      .expect(201);
    const { ticket, expiresAt } = issued.body as { ticket: string; expiresAt: string };
    expect(ticket).toMatch(/^tmst_[A-Za-z0-9_-]{43}$/);
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect(issued.headers["cache-control"]).toBe("no-store");

    const stream = await open(`/v1/stream?ticket=${ticket}`);
    expect(stream.status).toBe(200);
    const event = createdFor(alice);
    await h.deliver("task-events", event);
    await stream.waitFor("the event", (m) => m.some((x) => x.data.id === event.id));

    const replay = await h.request.get(`/v1/stream?ticket=${ticket}`).expect(401);
    expect(replay.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(replay.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    await h.request.get(`/v1/stream?ticket=tmst_${"A".repeat(43)}`).expect(401);
    await h.request.get("/v1/stream?ticket=x").expect(401);

    const late = await h.request.post("/v1/stream/tickets").set(alice.auth).expect(201);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    await h.request.get(`/v1/stream?ticket=${(late.body as { ticket: string }).ticket}`).expect(401);

    // Stored hashed: the table never holds the ticket itself.
    const { rows } = await h.pool.query<{ ticket_hash: string }>("SELECT ticket_hash FROM stream_tickets");
    expect(rows.every((r) => r.ticket_hash.length === 64 && !ticket.includes(r.ticket_hash))).toBe(true);
    await h.request.post("/v1/stream/tickets").expect(401);
    expect(h.logs.join("")).not.toContain(ticket.slice(5));
  });

  it("when a token is sent in the URL as /v1/stream/, /V1/stream, ?access_token= or ?ACCESS_TOKEN=, then no logged line contains it", async () => {
    const token = alice.accessToken;
    const signature = token.split(".")[2] ?? "";
    const before = h.logs.length;
    for (const path of [
      `/v1/stream/?access_token=${token}`,
      `/V1/stream?access_token=${token}`,
      `/v1/stream?access_token=${token}`,
      `/v1/stream?ACCESS_TOKEN=${token}`,
      `/V1/STREAM/?Access_Token=${token}&x=1`,
    ]) {
      const stream = await open(path);
      expect(stream.status, path).toBe(200);
      stream.close();
    }
    // Not the stream, or not a valid token: still redacted wherever it is logged.
    await h.request.get(`/v1/webhooks?access_token=${token}`).expect(401);
    await h.request.get(`/v1/nothing-here?token=${token}&code=${signature}`).expect(401);
    await h.request.get(`/v1/stream?access_token=${signature}`).expect(401);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logged = h.logs.slice(before).join("");
    expect(logged).toContain("/v1/");
    expect(logged).not.toContain(signature);
  });

  it("when a response is sent, then it has helmet's headers and the IETF RateLimit headers", async () => {
    const res = await h.request.post("/v1/stream/tickets").set(alice.auth).expect(201);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(res.headers["strict-transport-security"]).toBeDefined();
    expect(res.headers.ratelimit).toMatch(/"ip"; r=\d+; t=\d+, "user"; r=\d+; t=\d+/);
    expect(res.headers["ratelimit-policy"]).toMatch(/"ip"; q=1200; w=60/);
  });
});

describe("notifications' rate limits", () => {
  let h: NotificationsHarness;
  beforeAll(async () => {
    h = await startNotifications({ rateLimit: { ipPerMinute: 0, userPerMinute: 3 } });
  });
  afterAll(async () => {
    await h.close();
  });

  it("when a user exceeds the per-user limit, then 429 problem+json with Retry-After, and another user is not limited", async () => {
    const [alice, bob] = await Promise.all([h.signUp(), h.signUp()]);
    for (let i = 0; i < 3; i++) await h.request.post("/v1/stream/tickets").set(alice.auth).expect(201);
    const limited = await h.request.post("/v1/stream/tickets").set(alice.auth).expect(429);
    expect(limited.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ status: 429, code: "rate-limited" });
    // The stream counts against the same limit.
    await h.request.get("/v1/stream").set(alice.auth).expect(429);
    await h.request.post("/v1/stream/tickets").set(bob.auth).expect(201);
  });
});
