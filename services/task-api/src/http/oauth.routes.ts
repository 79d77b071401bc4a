import { oauthProviderAuthServerMetadata, verifyOAuthQueryParams } from "@better-auth/oauth-provider";
import express, { type Router } from "express";
import { OAUTH_CONSENT_PAGE, OAUTH_LOGIN_PAGE, type Auth } from "../auth/auth.ts";

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>${title} · taskmesh</title>
  <link rel="stylesheet" href="/oauth/assets/oauth.css">
</head>
<body>
  <main>
    <h1>${title}</h1>
    ${body}
    <p id="error" role="alert" hidden></p>
  </main>
  <script src="/oauth/assets/oauth.js"></script>
</body>
</html>`;

const LOGIN = page(
  "Sign in to taskmesh",
  `<p>An application asks to use your tasks. Sign in to continue.</p>
    <form id="login">
      <label>Email <input name="email" type="email" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Sign in</button>
    </form>`,
);

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${String(c.charCodeAt(0))};`);

const SCOPE_LABELS: Record<string, string> = {
  "tasks:read": "Read your tasks, lists and tags",
  "tasks:write": "Create, change and delete your tasks and lists",
  offline_access: "Stay connected when you are away (refresh tokens)",
};

/**
 * The consent page, rendered from the signed authorization query: the client's self-chosen name
 * is marked as unverified (every client here registered itself, by dynamic client registration
 * or a user's own registration; the operator has vetted none), and the host the browser goes
 * back to (the redirect_uri the authorize endpoint checked against the client's registration) is
 * shown, since that, not the name, says who gets the code.
 */
function consentPage(client: { name: string }, redirectHost: string, scopes: string[], resource: string) {
  const items = scopes.map((scope) => `<li>${escapeHtml(SCOPE_LABELS[scope] ?? scope)}</li>`).join("");
  return page(
    "Allow access?",
    `<p id="unverified" class="unverified"><strong>Unverified application.</strong> It registered itself
    with taskmesh and chose its own name; taskmesh has not checked who runs it.</p>
    <p><strong id="client">${escapeHtml(client.name)}</strong> asks to:</p>
    <ul id="scopes">${items}</ul>
    <p>If you allow, you are sent back to <strong id="redirect-host">${escapeHtml(redirectHost)}</strong>,
    which gets a token for <code id="resource">${escapeHtml(resource)}</code> only. Allow only if you
    know and trust that host. You can revoke access by signing out.</p>
    <form id="consent">
      <button type="submit" name="accept" value="true">Allow</button>
      <button type="submit" name="accept" value="false">Deny</button>
    </form>`,
  );
}

const nameOf = (name: string | null | undefined): string => {
  const trimmed = name?.trim() ?? "";
  return trimmed === "" ? "An unnamed application" : trimmed;
};

function parseUrl(value: string | null): URL | null {
  try {
    return value === null ? null : new URL(value);
  } catch {
    return null;
  }
}

const INVALID_CONSENT = page(
  "This link is not valid",
  `<p>This consent page was opened with a link that is invalid or has expired. Go back to the
    application and start again.</p>`,
);

const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;justify-content:center}
main{max-width:26rem;margin:3rem 1rem}label{display:block;margin:.75rem 0}
input{display:block;width:100%;padding:.4rem;box-sizing:border-box}button{margin:.5rem .5rem 0 0;padding:.4rem 1rem}
#error{color:#b00020}.unverified{border:2px solid #b00020;padding:.5rem .75rem}`;

// A file rather than inline script, so the pages work under helmet's CSP (script-src 'self').
// The signed authorization query (oauth_query) comes back to Better Auth with every POST; its
// answer is {url}: the next page (consent) or the client's redirect_uri with the code.
const SCRIPT = `(() => {
  const query = location.search.slice(1);
  const fail = (text) => { const e = document.getElementById("error"); e.textContent = text; e.hidden = false; };
  async function post(path, body) {
    const res = await fetch(path, { method: "POST", credentials: "include",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ ...body, oauth_query: query }) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || data.error_description || data.error || "HTTP " + res.status);
    if (data.url) location.assign(data.url); else fail("Nothing to continue with.");
  }
  const login = document.getElementById("login");
  if (login) login.addEventListener("submit", (event) => { event.preventDefault();
    const form = new FormData(login);
    post("/api/auth/sign-in/email", { email: form.get("email"), password: form.get("password") }).catch((e) => fail(e.message)); });
  const consent = document.getElementById("consent");
  if (consent) {
    consent.addEventListener("submit", (event) => { event.preventDefault();
      post("/api/auth/oauth2/consent", { accept: event.submitter && event.submitter.value === "true" }).catch((e) => fail(e.message)); });
  }
})();`;

/**
 * The OAuth 2.1 authorization server's public face on task-api: RFC 8414 metadata at the root
 * (the issuer is task-api's public URL, so clients look for it there), and the login and
 * consent pages the authorize endpoint sends a browser to.
 */
export function oauthRoutes(auth: Auth): Router {
  const router = express.Router();
  const metadata = oauthProviderAuthServerMetadata(auth);
  router.get("/.well-known/oauth-authorization-server", async (_req, res) => {
    const response = await metadata(new Request("http://task-api/.well-known/oauth-authorization-server"));
    res.status(response.status);
    res.setHeader("Cache-Control", response.headers.get("cache-control") ?? "public, max-age=300");
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.type("application/json").send(await response.text());
  });
  const html =
    (content: string): express.RequestHandler =>
    (_req, res) => {
      res.setHeader("Cache-Control", "no-store");
      res.type("html").send(content);
    };
  router.get(OAUTH_LOGIN_PAGE, html(LOGIN));
  router.get(OAUTH_CONSENT_PAGE, async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    // Exactly the query Better Auth signed (the authorize endpoint's redirect to this page).
    const query = req.originalUrl.split("?")[1] ?? "";
    const context = await auth.$context;
    const params = new URLSearchParams(query);
    const clientId = params.get("client_id");
    const redirectUri = parseUrl(params.get("redirect_uri"));
    const client =
      clientId !== null && redirectUri !== null && (await verifyOAuthQueryParams(query, context.secret))
        ? await context.adapter.findOne<{ name?: string | null; disabled?: boolean | null }>({
            model: "oauthClient",
            where: [{ field: "clientId", value: clientId }],
          })
        : null;
    if (!client || client.disabled === true || redirectUri === null) {
      res.status(400).type("html").send(INVALID_CONSENT);
      return;
    }
    const scopes = (params.get("scope") ?? "").split(" ").filter(Boolean);
    res
      .type("html")
      .send(
        consentPage(
          { name: nameOf(client.name) },
          redirectUri.host || redirectUri.protocol,
          scopes,
          params.get("resource") ?? "taskmesh",
        ),
      );
  });
  router.get("/oauth/assets/oauth.js", (_req, res) => {
    res.type("text/javascript").send(SCRIPT);
  });
  router.get("/oauth/assets/oauth.css", (_req, res) => {
    res.type("text/css").send(CSS);
  });
  return router;
}
