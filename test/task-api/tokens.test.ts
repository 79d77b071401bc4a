/**
 * Personal access tokens on task-api (real app, real Postgres): creating (secret shown once,
 * stored as a hash), listing, revoking, using one as the bearer token, scopes, expiry,
 * revocation, last use, and who may manage them.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TEST_PUBLIC_URL, type TestUser } from "../support/task-api.ts";
import { taskApiFixtures, useTaskApi } from "../support/task-api-fixtures.ts";

const DAY = 24 * 60 * 60 * 1000;

interface CreatedToken {
  id: string;
  name: string;
  scope: "read" | "read-write";
  prefix: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  token: string;
}

let now = Date.parse("2026-11-26T10:00:00.000Z");
const api = useTaskApi({ clock: () => new Date(now) });
const { createTask } = taskApiFixtures(api);

async function createToken(
  user: TestUser,
  body: object = { name: "script", scope: "read-write", expiresInDays: 30 },
): Promise<CreatedToken> {
  const res = await api.as(user).post("/v1/tokens", body);
  expect(res.status, res.text).toBe(201);
  return res.body as CreatedToken;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("creating a token", () => {
  it("when a signed-in user creates a token, then 201 shows the secret once, with its prefix, scope and expiry", async () => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/tokens", { name: "  Claude Desktop ", scope: "read", expiresInDays: 7 })
      .expect(201);

    const body = res.body as CreatedToken;
    expect(body.token).toMatch(/^tmpat_[A-Za-z0-9_-]{43}$/);
    expect(body).toMatchObject({ name: "Claude Desktop", scope: "read", lastUsedAt: null });
    expect(body.prefix).toBe(body.token.slice(0, 12));
    expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(7 * DAY);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers.location).toBe(`/v1/tokens/${body.id}`);

    const listed = await api.as(user).get("/v1/tokens").expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(body.token);
    const one = await api.as(user).get(`/v1/tokens/${body.id}`).expect(200);
    expect(one.body).toEqual({
      id: body.id,
      name: "Claude Desktop",
      scope: "read",
      prefix: body.prefix,
      createdAt: body.createdAt,
      expiresAt: body.expiresAt,
      lastUsedAt: null,
    });
  });

  it("when a token is stored, then the database holds only its SHA-256 and the display prefix, never the secret", async () => {
    const user = await api.signUp();
    const created = await createToken(user);

    const rows = await api.pool.query<Record<string, unknown>>(
      "SELECT * FROM personal_access_tokens WHERE id = $1",
      [created.id],
    );
    expect(rows.rows[0]?.token_hash).toBe(createHash("sha256").update(created.token).digest("hex"));
    expect(JSON.stringify(rows.rows[0])).not.toContain(created.token);
  });

  it("when neither expiresInDays nor expiresAt is given, then the token expires in 30 days", async () => {
    const user = await api.signUp();
    const created = await createToken(user, { name: "default", scope: "read" });

    expect(Date.parse(created.expiresAt) - now).toBe(30 * DAY);
  });

  it("when expiresAt is given, then the token expires then", async () => {
    const user = await api.signUp();
    const at = new Date(now + 90 * DAY).toISOString();
    const created = await createToken(user, { name: "dated", scope: "read", expiresAt: at });

    expect(created.expiresAt).toBe(at);
  });

  it.each([
    ["no name", { scope: "read" }, "/name"],
    ["a blank name", { name: "  ", scope: "read" }, "/name"],
    ["a name of 101 characters", { name: "x".repeat(101), scope: "read" }, "/name"],
    ["an unknown scope", { name: "t", scope: "admin" }, "/scope"],
    ["no scope", { name: "t" }, "/scope"],
    ["0 days", { name: "t", scope: "read", expiresInDays: 0 }, "/expiresInDays"],
    ["366 days", { name: "t", scope: "read", expiresInDays: 366 }, "/expiresInDays"],
    ["1.5 days", { name: "t", scope: "read", expiresInDays: 1.5 }, "/expiresInDays"],
    ["an unknown field", { name: "t", scope: "read", admin: true }, "/admin"],
    ["expiresAt that is not a date-time", { name: "t", scope: "read", expiresAt: "tomorrow" }, "/expiresAt"],
    [
      "expiresAt with an offset past +14:00",
      { name: "t", scope: "read", expiresAt: "2027-01-01T00:00:00+15:00" },
      "/expiresAt",
    ],
  ])("when the body has %s, then 422 names the field", async (_label, body, pointer) => {
    const user = await api.signUp();
    const res = await api.as(user).post("/v1/tokens", body).expect(422);

    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    expect((res.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toContain(pointer);
  });

  it.each([
    ["in the past", () => new Date(now - 1000).toISOString()],
    ["now", () => new Date(now).toISOString()],
    ["more than 365 days ahead", () => new Date(now + 366 * DAY).toISOString()],
  ])("when expiresAt is %s, then 422", async (_label, at) => {
    const user = await api.signUp();
    const res = await api
      .as(user)
      .post("/v1/tokens", { name: "t", scope: "read", expiresAt: at() })
      .expect(422);

    expect((res.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe("/expiresAt");
  });

  it("when both expiresInDays and expiresAt are given, then 422", async () => {
    const user = await api.signUp();
    await api
      .as(user)
      .post("/v1/tokens", {
        name: "t",
        scope: "read",
        expiresInDays: 3,
        expiresAt: new Date(now + DAY).toISOString(),
      })
      .expect(422);
  });

  it("when a user already has 50 tokens (the default quota), then the 51st is 422 quota-exceeded until one is revoked", async () => {
    const user = await api.signUp();
    await api.pool.query(
      `INSERT INTO personal_access_tokens (id, user_id, name, scope, token_hash, prefix, expires_at)
       SELECT gen_random_uuid(), $1::uuid, 'bulk ' || i, 'read', md5(i::text || $1::uuid) || md5($1::uuid || i::text), 'tmpat_bulk00', now() + interval '1 day'
         FROM generate_series(1, 50) AS i`,
      [user.id],
    );
    const refused = await api.as(user).post("/v1/tokens", { name: "one more", scope: "read" }).expect(422);
    expect(refused.body).toMatchObject({ code: "quota-exceeded", quota: "tokens", limit: 50 });

    const page = await api.as(user).get("/v1/tokens?limit=1").expect(200);
    const id = (page.body as { data: { id: string }[] }).data[0]?.id;
    await api
      .as(user)
      .delete(`/v1/tokens/${String(id)}`)
      .expect(204);
    await api.as(user).post("/v1/tokens", { name: "one more", scope: "read" }).expect(201);
  });
});

describe("listing tokens", () => {
  it("when a user lists tokens, then their own come newest first, paged with a cursor", async () => {
    const user = await api.signUp();
    const other = await api.signUp();
    const first = await createToken(user, { name: "first", scope: "read" });
    const second = await createToken(user, { name: "second", scope: "read-write" });
    const third = await createToken(user, { name: "third", scope: "read" });
    await createToken(other, { name: "not yours", scope: "read" });

    const page1 = await api.as(user).get("/v1/tokens?limit=2").expect(200);
    const body1 = page1.body as { data: { id: string }[]; nextCursor: string };
    expect(body1.data.map((t) => t.id)).toEqual([third.id, second.id]);
    const page2 = await api.request.get("/v1/tokens").query({ cursor: body1.nextCursor }).set(user.auth);
    expect(page2.body).toEqual({
      data: [
        {
          id: first.id,
          name: "first",
          scope: "read",
          prefix: first.prefix,
          createdAt: first.createdAt,
          expiresAt: first.expiresAt,
          lastUsedAt: null,
        },
      ],
      nextCursor: null,
    });
  });

  it("when the cursor is not one the list issued, or limit is out of range, then 400", async () => {
    const user = await api.signUp();
    await api.as(user).get("/v1/tokens?cursor=bm90LWEtY3Vyc29y").expect(400);
    await api.as(user).get("/v1/tokens?limit=0").expect(400);
    await api.as(user).get("/v1/tokens?limit=101").expect(400);
    await api.as(user).get("/v1/tokens?unknown=1").expect(400);
  });
});

describe("cross-user isolation", () => {
  it("when user B reads, lists or revokes user A's token, then 404 / absent, and A's token keeps working", async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    const token = await createToken(a);

    const listed = await api.as(b).get("/v1/tokens").expect(200);
    expect((listed.body as { data: unknown[] }).data).toEqual([]);
    await api.as(b).get(`/v1/tokens/${token.id}`).expect(404);
    await api.as(b).delete(`/v1/tokens/${token.id}`).expect(404);

    const me = await api.request.get("/v1/me").set(bearer(token.token)).expect(200);
    expect((me.body as { id: string }).id).toBe(a.id);
  });

  it("when a user's token reads tasks, then it sees only that user's tasks", async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    const bTask = (await createTask(b, { title: "B's secret" })).id;
    const token = await createToken(a, { name: "reader", scope: "read" });

    await api.request.get(`/v1/tasks/${bTask}`).set(bearer(token.token)).expect(404);
    const list = await api.request.get("/v1/tasks").set(bearer(token.token)).expect(200);
    expect((list.body as { data: unknown[] }).data).toEqual([]);
  });

  it("when an id is not a UUID, then 404 like an unknown one", async () => {
    const user = await api.signUp();
    await api.as(user).get("/v1/tokens/not-a-uuid").expect(404);
    await api.as(user).delete("/v1/tokens/not-a-uuid").expect(404);
  });
});

describe("using a token as the bearer token", () => {
  it("when a read-write token is used, then it reads and writes as its user", async () => {
    const user = await api.signUp();
    const token = await createToken(user, { name: "rw", scope: "read-write" });

    const created = await api.request
      .post("/v1/tasks")
      .set(bearer(token.token))
      .send({ title: "Made with a token" })
      .expect(201);
    const id = (created.body as { id: string }).id;
    await api.request
      .patch(`/v1/tasks/${id}`)
      .set(bearer(token.token))
      .send({ priority: "high" })
      .expect(200);
    await api.request.post(`/v1/tasks/${id}/complete`).set(bearer(token.token)).expect(200);
    await api.request.post("/v1/lists").set(bearer(token.token)).send({ name: "Token list" }).expect(201);
    await api.request.patch("/v1/me").set(bearer(token.token)).send({ name: "Renamed" }).expect(200);
    await api.request.delete(`/v1/tasks/${id}`).set(bearer(token.token)).expect(204);
    // The task was the user's: the session sees what the token did.
    const tasks = await api.as(user).get("/v1/tasks?status=all").expect(200);
    expect((tasks.body as { data: unknown[] }).data).toEqual([]);
  });

  it("when a read token reads, then 200; when it writes, then 403 problem+json with insufficient_scope, and nothing changes", async () => {
    const user = await api.signUp();
    const task = (await createTask(user, { title: "Keep me" })).id;
    const token = await createToken(user, { name: "ro", scope: "read" });
    const auth = bearer(token.token);

    await api.request.get("/v1/me").set(auth).expect(200);
    await api.request.get(`/v1/tasks/${task}`).set(auth).expect(200);
    await api.request.head(`/v1/tasks/${task}`).set(auth).expect(200);
    await api.request.get("/v1/tags").set(auth).expect(200);
    await api.request.get("/v1/lists").set(auth).expect(200);

    const writes = [
      api.request.post("/v1/tasks").set(auth).send({ title: "No" }),
      api.request.patch(`/v1/tasks/${task}`).set(auth).send({ title: "No" }),
      api.request.delete(`/v1/tasks/${task}`).set(auth),
      api.request.post(`/v1/tasks/${task}/complete`).set(auth),
      api.request.post("/v1/lists").set(auth).send({ name: "No" }),
      api.request.patch("/v1/me").set(auth).send({ name: "No" }),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status, res.text).toBe(403);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
      expect((res.body as { type: string }).type).toMatch(/forbidden$/);
      expect(res.headers["www-authenticate"]).toMatch(/error="insufficient_scope"/);
    }
    const after = await api.as(user).get(`/v1/tasks/${task}`).expect(200);
    expect(after.body).toMatchObject({ title: "Keep me", completed: false, version: 1 });
  });

  it("when a token is revoked, then the next request with it is 401 invalid_token", async () => {
    const user = await api.signUp();
    const token = await createToken(user);
    await api.request.get("/v1/me").set(bearer(token.token)).expect(200);

    await api.as(user).delete(`/v1/tokens/${token.id}`).expect(204);

    const res = await api.request.get("/v1/me").set(bearer(token.token)).expect(401);
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="taskmesh", error="invalid_token"/);
    await api.as(user).delete(`/v1/tokens/${token.id}`).expect(404);
  });

  it("when a token has expired, then it is 401 (and still listed, so the user can see and remove it)", async () => {
    const user = await api.signUp();
    const token = await createToken(user, { name: "short", scope: "read", expiresInDays: 1 });
    await api.request.get("/v1/me").set(bearer(token.token)).expect(200);

    await api.pool.query("UPDATE personal_access_tokens SET expires_at = $2 WHERE id = $1", [
      token.id,
      new Date(now - 1),
    ]);

    await api.request.get("/v1/me").set(bearer(token.token)).expect(401);
    const listed = await api.as(user).get("/v1/tokens").expect(200);
    expect((listed.body as { data: { id: string }[] }).data.map((t) => t.id)).toEqual([token.id]);
  });

  it("when the clock passes a token's expiry, then it stops working at that instant", async () => {
    const user = await api.signUp();
    const start = now;
    const token = await createToken(user, { name: "day", scope: "read", expiresInDays: 1 });
    try {
      now = start + DAY - 1;
      await api.request.get("/v1/me").set(bearer(token.token)).expect(200);
      now = start + DAY;
      await api.request.get("/v1/me").set(bearer(token.token)).expect(401);
    } finally {
      now = start;
    }
  });

  it.each([
    ["an unknown token of the right shape", `tmpat_${"A".repeat(43)}`],
    ["a truncated token", "tmpat_abc"],
    ["a token with a forbidden character", `tmpat_${"A".repeat(42)}!`],
  ])("when %s is sent, then 401 invalid_token", async (_label, token) => {
    const res = await api.request.get("/v1/me").set(bearer(token)).expect(401);
    expect(res.headers["www-authenticate"]).toMatch(/error="invalid_token"/);
    expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
  });

  it("when a token's user deletes the account, then the token is gone with it", async () => {
    const user = await api.signUp();
    const token = await createToken(user);

    await api.as(user).delete("/v1/me").expect(204);

    await api.request.get("/v1/me").set(bearer(token.token)).expect(401);
    const rows = await api.pool.query("SELECT 1 FROM personal_access_tokens WHERE id = $1", [token.id]);
    expect(rows.rowCount).toBe(0);
  });
});

describe("last use", () => {
  const lastUsed = async (user: TestUser, id: string): Promise<string | null> =>
    (
      (await api.as(user).get(`/v1/tokens/${id}`).expect(200)).body as {
        lastUsedAt: string | null;
      }
    ).lastUsedAt;

  it("when a token is used, then lastUsedAt is set, and written again only once a minute has passed", async () => {
    const user = await api.signUp();
    const start = now;
    const token = await createToken(user);
    try {
      expect(await lastUsed(user, token.id)).toBeNull();

      await api.request.get("/v1/me").set(bearer(token.token)).expect(200);
      expect(await lastUsed(user, token.id)).toBe(new Date(start).toISOString());

      now = start + 59_000;
      await api.request.get("/v1/me").set(bearer(token.token)).expect(200);
      expect(await lastUsed(user, token.id)).toBe(new Date(start).toISOString());

      now = start + 60_000;
      await api.request.get("/v1/me").set(bearer(token.token)).expect(200);
      expect(await lastUsed(user, token.id)).toBe(new Date(start + 60_000).toISOString());
    } finally {
      now = start;
    }
  });
});

describe("who may manage tokens and delete the account", () => {
  it("when a personal access token (even read-write) manages tokens, then 403", async () => {
    const user = await api.signUp();
    const token = await createToken(user, { name: "rw", scope: "read-write" });
    const auth = bearer(token.token);

    for (const res of [
      await api.request.post("/v1/tokens").set(auth).send({ name: "minted", scope: "read" }),
      await api.request.get("/v1/tokens").set(auth),
      await api.request.get(`/v1/tokens/${token.id}`).set(auth),
      await api.request.delete(`/v1/tokens/${token.id}`).set(auth),
    ]) {
      expect(res.status, res.text).toBe(403);
      expect(res.headers["content-type"]).toMatch(/application\/problem\+json/);
    }
    await api.request.get("/v1/me").set(auth).expect(200);
  });

  it("when a personal access token deletes the account, then 403 and the account stays", async () => {
    const user = await api.signUp();
    const token = await createToken(user, { name: "rw", scope: "read-write" });

    await api.request.delete("/v1/me").set(bearer(token.token)).expect(403);

    await api.as(user).get("/v1/me").expect(200);
  });

  it("when the session token (bearer or cookie) manages tokens, then it may", async () => {
    const user = await api.signUp();
    const created = await api.request
      .post("/v1/tokens")
      .set(bearer(user.sessionToken))
      .send({ name: "via session", scope: "read" })
      .expect(201);
    await api.request
      .get("/v1/tokens")
      .set("Cookie", await sessionCookie(user))
      .expect(200);
    await api.request
      .delete(`/v1/tokens/${(created.body as { id: string }).id}`)
      .set(bearer(user.sessionToken))
      .expect(204);
  });

  it("when an access token carries OAuth scopes (issued to a client), then it is delegated: read-only scope may not write, and no scope may manage tokens", async () => {
    const user = await api.signUp();
    const sign = async (scope: string) =>
      (
        await api.auth.api.signJWT({
          body: { payload: { sub: user.id, scope, aud: "taskmesh", iss: TEST_PUBLIC_URL } },
        })
      ).token;
    const readOnly = bearer(await sign("tasks:read"));
    const readWrite = bearer(await sign("tasks:read tasks:write"));
    const unrelated = bearer(await sign("openid profile"));

    await api.request.get("/v1/me").set(readOnly).expect(200);
    await api.request.post("/v1/tasks").set(readOnly).send({ title: "No" }).expect(403);
    await api.request.post("/v1/tasks").set(readWrite).send({ title: "Yes" }).expect(201);
    await api.request.get("/v1/tokens").set(readWrite).expect(403);
    await api.request.delete("/v1/me").set(readWrite).expect(403);
    await api.request.get("/v1/me").set(unrelated).expect(401);
  });
});

/** The session cookie a browser would hold after signing in. */
async function sessionCookie(user: TestUser): Promise<string> {
  const res = await api.request
    .post("/api/auth/sign-in/email")
    .send({ email: user.email, password: "correct-horse-battery" })
    .expect(200);
  const cookies = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
  const session = cookies.find((c) => c.startsWith("better-auth.session_token="));
  if (!session) throw new Error("sign-in set no session cookie");
  return session.split(";")[0] ?? "";
}
