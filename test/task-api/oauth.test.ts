/**
 * task-api as the OAuth 2.1 authorization server of the MCP server (MCP authorization spec
 * 2025-11-25), driven over HTTP as an MCP client and a browser would: discovery (RFC 8414),
 * dynamic client registration (RFC 7591), authorization code + PKCE through task-api's login and
 * consent pages, tokens bound to the MCP resource (RFC 8707), refresh; and the resulting token
 * accepted by @taskmesh/auth's verifier for the MCP audience only.
 */
import { createHash, randomBytes } from "node:crypto";
import { InvalidTokenError, createBearerVerifier, jwksFromUrl, type BearerVerifier } from "@taskmesh/auth";
import { beforeAll, describe, expect, it } from "vitest";
import { TEST_PUBLIC_URL, type TestUser } from "../support/task-api.ts";
import { useTaskApi } from "../support/task-api-fixtures.ts";

const MCP_RESOURCE = "http://localhost:3001/mcp";
const REDIRECT_URI = "http://127.0.0.1:53682/callback";
const PASSWORD = "correct-horse-battery";
/** What a browser on task-api's pages sends (Better Auth checks it on state-changing calls). */
const ORIGIN = { Origin: TEST_PUBLIC_URL };

const api = useTaskApi({}, { protectedResources: [MCP_RESOURCE] });
let verifyForMcp: BearerVerifier;
beforeAll(() => {
  const address = api.server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  verifyForMcp = createBearerVerifier({
    jwks: jwksFromUrl(`http://127.0.0.1:${address.port}/api/auth/jwks`),
    issuer: TEST_PUBLIC_URL,
    audience: MCP_RESOURCE,
  });
});

/** The path of a URL on task-api (metadata and redirects name its public URL). */
const onApi = (url: string): string => {
  const parsed = new URL(url, TEST_PUBLIC_URL);
  expect(parsed.origin).toBe(TEST_PUBLIC_URL);
  return `${parsed.pathname}${parsed.search}`;
};

interface Client {
  client_id: string;
}

async function register(body: object = {}): Promise<Client> {
  const res = await api.request.post("/api/auth/oauth2/register").send({
    client_name: "Test MCP client",
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: "none",
    application_type: "native",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    ...body,
  });
  expect(res.status, res.text).toBe(201);
  return res.body as Client;
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function authorizeQuery(client: Client, challenge: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT_URI,
    scope: "tasks:read tasks:write offline_access",
    state: "state-123",
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource: MCP_RESOURCE,
    ...extra,
  }).toString();
}

/** Better Auth answers a browser navigation with 302 and a fetch with {url}. */
const nextUrl = (res: { status: number; headers: Record<string, string>; body: unknown }): string =>
  res.status === 302 ? (res.headers.location ?? "") : ((res.body as { url?: string }).url ?? "");

/** Signs in on the login page `login` (it carries the OAuth query); returns where Better Auth sends the browser next and the session cookie. */
async function signInOnLoginPage(user: TestUser, login: URL): Promise<{ next: URL; cookie: string }> {
  const signIn = await api.request
    .post("/api/auth/sign-in/email")
    .set(ORIGIN)
    .set("Accept", "application/json")
    .send({ email: user.email, password: PASSWORD, oauth_query: login.search.slice(1) });
  expect(signIn.status, signIn.text).toBe(200);
  const cookie = ([] as string[])
    .concat(signIn.headers["set-cookie"] ?? [])
    .map((c) => c.split(";")[0])
    .join("; ");
  return { next: new URL(nextUrl(signIn), TEST_PUBLIC_URL), cookie };
}

/**
 * A person in a browser: opens the authorize URL signed out, signs in on the login page, allows
 * (or denies) on the consent page. Returns where the browser is sent back to (the redirect_uri).
 */
async function authorizeInBrowser(
  user: TestUser,
  query: string,
  decision: "allow" | "deny" = "allow",
): Promise<URL> {
  const start = await api.request.get(`/api/auth/oauth2/authorize?${query}`).set("Accept", "text/html");
  expect(start.status, start.text).toBe(302);
  const login = new URL(start.headers.location ?? "", TEST_PUBLIC_URL);
  expect(login.pathname).toBe("/oauth/login");
  const page = await api.request.get(onApi(login.href)).expect(200);
  expect(page.text).toContain('<form id="login">');

  const { next: afterSignIn, cookie } = await signInOnLoginPage(user, login);
  let next = afterSignIn;
  if (next.pathname === "/oauth/consent") {
    const consentPage = await api.request.get(onApi(next.href)).set("Cookie", cookie).expect(200);
    expect(consentPage.text).toContain('<form id="consent">');
    const consent = await api.request
      .post("/api/auth/oauth2/consent")
      .set(ORIGIN)
      .set("Cookie", cookie)
      .send({ accept: decision === "allow", oauth_query: next.search.slice(1) });
    expect(consent.status, consent.text).toBe(200);
    next = new URL(nextUrl(consent));
  }
  return next;
}

async function exchange(client: Client, code: string, verifier: string, extra: Record<string, string> = {}) {
  return api.request
    .post("/api/auth/oauth2/token")
    .type("form")
    .send({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      client_id: client.client_id,
      code_verifier: verifier,
      resource: MCP_RESOURCE,
      ...extra,
    });
}

/** The refresh_token grant for the MCP resource (a public client names itself with client_id). */
function refresh(refreshToken: string, extra: Record<string, string> = {}) {
  return api.request
    .post("/api/auth/oauth2/token")
    .type("form")
    .send({ grant_type: "refresh_token", refresh_token: refreshToken, ...extra, resource: MCP_RESOURCE });
}

/** The whole flow for a user: a token response for the MCP resource. */
async function tokensFor(user: TestUser, scope = "tasks:read tasks:write offline_access") {
  const client = await register();
  const { verifier, challenge } = pkce();
  const back = await authorizeInBrowser(user, authorizeQuery(client, challenge, { scope }));
  const res = await exchange(client, back.searchParams.get("code") ?? "", verifier);
  expect(res.status, res.text).toBe(200);
  return { client, body: res.body as { access_token: string; refresh_token?: string; scope: string } };
}

const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;

describe("discovery", () => {
  it("when /.well-known/oauth-authorization-server is read, then it names task-api as issuer and its real endpoints", async () => {
    const res = await api.request.get("/.well-known/oauth-authorization-server").expect(200);

    const meta = res.body as Record<string, unknown>;
    // Since @better-auth/oauth-provider 1.7.29 the issuer is the base URL as configured (before,
    // a non-loopback http issuer was rewritten to https), the same value as the JWTs' iss.
    expect(meta.issuer).toBe(TEST_PUBLIC_URL);
    expect(meta).toMatchObject({
      authorization_endpoint: `${TEST_PUBLIC_URL}/api/auth/oauth2/authorize`,
      token_endpoint: `${TEST_PUBLIC_URL}/api/auth/oauth2/token`,
      registration_endpoint: `${TEST_PUBLIC_URL}/api/auth/oauth2/register`,
      jwks_uri: `${TEST_PUBLIC_URL}/api/auth/jwks`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
    });
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(["tasks:read", "tasks:write"]));
    expect(meta.token_endpoint_auth_methods_supported).toContain("none");
    // Every endpoint it names is served here.
    for (const [key, method] of [
      ["authorization_endpoint", "get"],
      ["jwks_uri", "get"],
      ["token_endpoint", "post"],
      ["registration_endpoint", "post"],
    ] as const) {
      const res = await api.request[method](onApi(String(meta[key])))
        .type("form")
        .send({});
      expect(res.status, key).not.toBe(404);
    }
  });

  it("when the login and consent pages are opened, then they load their script and style from task-api only", async () => {
    // The consent page needs the signed authorization query; without one it says the link is invalid.
    for (const [path, status] of [
      ["/oauth/login", 200],
      ["/oauth/consent", 400],
    ] as const) {
      const page = await api.request
        .get(path)
        .expect(status)
        .expect("Content-Type", /text\/html/);
      expect(page.text).not.toMatch(/https?:\/\//);
      expect(page.text).not.toMatch(/<script>/);
    }
    await api.request
      .get("/oauth/assets/oauth.js")
      .expect(200)
      .expect("Content-Type", /javascript/);
    await api.request.get("/oauth/assets/oauth.css").expect(200).expect("Content-Type", /css/);
  });
});

describe("registration", () => {
  it("when an MCP client registers without an account, then it gets a public client id", async () => {
    const client = await register();
    expect(client).toMatchObject({ token_endpoint_auth_method: "none", redirect_uris: [REDIRECT_URI] });
    expect(client.client_id).toMatch(/^\S{16,}$/);
  });

  it("when a web client names a plain-http redirect on another host, then registration is refused", async () => {
    const res = await api.request.post("/api/auth/oauth2/register").send({
      client_name: "Bad",
      redirect_uris: ["http://attacker.example/callback"],
      token_endpoint_auth_method: "none",
    });
    expect(res.status).toBe(400);
  });
});

describe("authorization code + PKCE for the MCP resource", () => {
  it("when a user authorizes a client, then the token is a JWT for the MCP resource with the user, client and scopes", async () => {
    const user = await api.signUp();
    const { client, body } = await tokensFor(user);

    const claims = claimsOf(body.access_token);
    expect(claims).toMatchObject({
      sub: user.id,
      aud: MCP_RESOURCE,
      iss: TEST_PUBLIC_URL,
      azp: client.client_id,
      scope: "tasks:read tasks:write offline_access",
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(900);
    expect(body.refresh_token).toEqual(expect.any(String));
  });

  it("when the MCP verifier checks that token, then it is the user's, read-write, from that client; task-api's REST API refuses it", async () => {
    const user = await api.signUp();
    const { client, body } = await tokensFor(user);

    expect(await verifyForMcp(body.access_token)).toMatchObject({
      userId: user.id,
      scope: "read-write",
      kind: "jwt",
      clientId: client.client_id,
    });
    await api.request.get("/v1/me").set("Authorization", `Bearer ${body.access_token}`).expect(401);
  });

  it("when a REST API token (aud taskmesh) is shown to the MCP verifier, then it is refused", async () => {
    const user = await api.signUp();
    await expect(verifyForMcp(user.accessToken)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it("when only tasks:read is asked for, then the token is read-only for the MCP server", async () => {
    const user = await api.signUp();
    const { body } = await tokensFor(user, "tasks:read");

    expect(body.scope).toBe("tasks:read");
    expect(await verifyForMcp(body.access_token)).toMatchObject({ userId: user.id, scope: "read" });
  });

  it("when the user has consented before, then the next authorization skips the consent page", async () => {
    const user = await api.signUp();
    const client = await register();
    const first = pkce();
    await authorizeInBrowser(user, authorizeQuery(client, first.challenge));

    const second = pkce();
    const back = await authorizeInBrowser(user, authorizeQuery(client, second.challenge));
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get("state")).toBe("state-123");
    expect((await exchange(client, back.searchParams.get("code") ?? "", second.verifier)).status).toBe(200);
  });

  it("when the user denies, then the client is sent back with access_denied and no code", async () => {
    const user = await api.signUp();
    const client = await register();
    const { challenge } = pkce();

    const back = await authorizeInBrowser(user, authorizeQuery(client, challenge), "deny");
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("code")).toBeNull();
  });

  it("when the code verifier is wrong, then invalid_grant; and a code works only once", async () => {
    const user = await api.signUp();
    const client = await register();
    const { verifier, challenge } = pkce();
    const back = await authorizeInBrowser(user, authorizeQuery(client, challenge));
    const code = back.searchParams.get("code") ?? "";

    // The plugin answers 400 invalid_request ("code verification failed") rather than RFC 6749's
    // invalid_grant; no token comes back. Since 1.7.29 a wrong verifier does not spend the code
    // (it is consumed only once PKCE verifies), so whoever intercepts a code cannot burn it for
    // the client that holds the verifier; the right verifier then redeems it exactly once.
    const wrong = await exchange(client, code, pkce().verifier);
    expect([400, 401], wrong.text).toContain(wrong.status);
    expect(wrong.body).not.toHaveProperty("access_token");
    const right = await exchange(client, code, verifier);
    expect(right.status, right.text).toBe(200);
    const late = await exchange(client, code, verifier);
    expect(late.body, late.text).not.toHaveProperty("access_token");

    const second = pkce();
    const again = await authorizeInBrowser(user, authorizeQuery(client, second.challenge));
    const code2 = again.searchParams.get("code") ?? "";
    expect((await exchange(client, code2, second.verifier)).status).toBe(200);
    const replay = await exchange(client, code2, second.verifier);
    expect([400, 401], replay.text).toContain(replay.status);
    expect(replay.body).not.toHaveProperty("access_token");
  });

  it("when the authorization has no PKCE challenge, then it is refused", async () => {
    const client = await register();
    const query = new URLSearchParams(authorizeQuery(client, "x"));
    query.delete("code_challenge");
    query.delete("code_challenge_method");

    const start = await api.request
      .get(`/api/auth/oauth2/authorize?${query.toString()}`)
      .set("Accept", "text/html");
    const target = new URL(start.headers.location ?? nextUrl(start), TEST_PUBLIC_URL);
    expect(target.pathname).not.toBe("/oauth/login");
    expect(target.searchParams.get("error")).toMatch(/invalid_request/);
  });

  it("when a resource that is not the MCP server is asked for, then no token is issued for it", async () => {
    const user = await api.signUp();
    const client = await register();
    const { verifier, challenge } = pkce();
    const query = authorizeQuery(client, challenge, { resource: "http://evil.example/mcp" });

    const start = await api.request.get(`/api/auth/oauth2/authorize?${query}`).set("Accept", "text/html");
    const target = new URL(start.headers.location ?? nextUrl(start), TEST_PUBLIC_URL);
    if (target.pathname === "/oauth/login") {
      // Refused at the token endpoint instead.
      const back = await authorizeInBrowser(user, query);
      const res = await exchange(client, back.searchParams.get("code") ?? "", verifier, {
        resource: "http://evil.example/mcp",
      });
      expect(res.status).toBe(400);
      expect((res.body as { error: string }).error).toBe("invalid_target");
    } else {
      expect(target.searchParams.get("error")).toBe("invalid_target");
    }
  });

  it("when the token is requested without a resource, then it is not a token the MCP verifier accepts", async () => {
    const user = await api.signUp();
    const client = await register();
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams(authorizeQuery(client, challenge));
    query.delete("resource");
    const back = await authorizeInBrowser(user, query.toString());

    const res = await api.request
      .post("/api/auth/oauth2/token")
      .type("form")
      .send({
        grant_type: "authorization_code",
        code: back.searchParams.get("code") ?? "",
        redirect_uri: REDIRECT_URI,
        client_id: client.client_id,
        code_verifier: verifier,
      });
    expect(res.status, res.text).toBe(200);
    await expect(verifyForMcp((res.body as { access_token: string }).access_token)).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
  });

  it("when the refresh token is used with the resource, then a new MCP token for the same user comes back", async () => {
    const user = await api.signUp();
    const { client, body } = await tokensFor(user);

    const res = await refresh(body.refresh_token ?? "", { client_id: client.client_id });
    expect(res.status, res.text).toBe(200);
    const refreshed = res.body as { access_token: string };
    expect(refreshed.access_token).not.toBe(body.access_token);
    expect(await verifyForMcp(refreshed.access_token)).toMatchObject({ userId: user.id, kind: "jwt" });
  });

  it("when two users authorize the same client, then each token is its own user's", async () => {
    const a = await api.signUp();
    const b = await api.signUp();
    const client = await register();
    const tokens: string[] = [];
    for (const user of [a, b]) {
      const { verifier, challenge } = pkce();
      const back = await authorizeInBrowser(user, authorizeQuery(client, challenge));
      const res = await exchange(client, back.searchParams.get("code") ?? "", verifier);
      tokens.push((res.body as { access_token: string }).access_token);
    }

    expect((await verifyForMcp(tokens[0] ?? "")).userId).toBe(a.id);
    expect((await verifyForMcp(tokens[1] ?? "")).userId).toBe(b.id);
  });

  it("when the user's account is deleted, then the client and its grants go with it", async () => {
    const user = await api.signUp();
    const { body } = await tokensFor(user);
    await api.as(user).delete("/v1/me").expect(204);

    const res = await refresh(body.refresh_token ?? "");
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});

describe("consent phishing", () => {
  /** A signed-in user's browser up to the consent page: its URL and the session cookie. */
  async function openConsent(user: TestUser, client: Client): Promise<{ url: URL; cookie: string }> {
    const start = await api.request
      .get(`/api/auth/oauth2/authorize?${authorizeQuery(client, pkce().challenge)}`)
      .set("Accept", "text/html");
    const login = new URL(start.headers.location ?? "", TEST_PUBLIC_URL);
    const { next: url, cookie } = await signInOnLoginPage(user, login);
    expect(url.pathname).toBe("/oauth/consent");
    return { url, cookie };
  }

  it("when a dynamically registered client asks for consent, then the page shows the redirect host and marks the client unverified", async () => {
    const user = await api.signUp();
    const client = await register({ client_name: "taskmesh Official <b>Sync</b>" });
    const { url, cookie } = await openConsent(user, client);

    const page = await api.request.get(onApi(url.href)).set("Cookie", cookie).expect(200);

    expect(page.text).toContain('<strong id="redirect-host">127.0.0.1:53682</strong>');
    expect(page.text).toMatch(/<p id="unverified"[^>]*><strong>Unverified application\.<\/strong>/);
    // The self-chosen name is shown as text, never as markup.
    expect(page.text).toContain("taskmesh Official &#60;b&#62;Sync&#60;/b&#62;");
    expect(page.text).not.toContain("<b>Sync</b>");
    expect(page.text).toContain("Read your tasks, lists and tags");
  });

  it("when the consent URL's redirect_uri is changed to another host, then the page refuses the link", async () => {
    const user = await api.signUp();
    const client = await register();
    const { url, cookie } = await openConsent(user, client);
    url.searchParams.set("redirect_uri", "https://tasks.example.com/callback");

    const page = await api.request.get(onApi(url.href)).set("Cookie", cookie).expect(400);

    expect(page.text).toContain("This link is not valid");
    expect(page.text).not.toContain("tasks.example.com");
  });
});

describe("registration limit", () => {
  const limited = useTaskApi(
    {
      rateLimit: { ipPerMinute: 0, userPerMinute: 0, clientRegistrationsPerIpPerHour: 3 },
      trustProxyHops: 1,
    },
    { protectedResources: [MCP_RESOURCE] },
  );

  const registerFrom = (ip: string, name: string) =>
    limited.request
      .post("/api/auth/oauth2/register")
      .set("X-Forwarded-For", ip)
      .send({
        client_name: name,
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: "none",
        application_type: "native",
      });

  it("when one IP registers more clients than the hourly limit, then 429 problem+json with Retry-After and nothing is registered; another IP still can", async () => {
    for (let i = 0; i < 3; i++)
      expect((await registerFrom("198.51.100.7", `client ${String(i)}`)).status).toBe(201);

    const res = await registerFrom("198.51.100.7", "one too many");

    expect(res.status).toBe(429);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 429, code: "rate-limited" });
    expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    expect(await limited.prisma.oauthClient.count({ where: { name: "one too many" } })).toBe(0);
    expect((await registerFrom("198.51.100.8", "another ip")).status).toBe(201);
  });
});
