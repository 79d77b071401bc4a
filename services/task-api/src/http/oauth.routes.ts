import { oauthProviderAuthServerMetadata } from "@better-auth/oauth-provider";
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

const CONSENT = page(
  "Allow access?",
  `<p><strong id="client">An application</strong> asks to:</p>
    <ul id="scopes"></ul>
    <p>It gets a token for <code id="resource">taskmesh</code> only, and you can revoke it by signing out.</p>
    <form id="consent">
      <button type="submit" name="accept" value="true">Allow</button>
      <button type="submit" name="accept" value="false">Deny</button>
    </form>`,
);

const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;justify-content:center}
main{max-width:26rem;margin:3rem 1rem}label{display:block;margin:.75rem 0}
input{display:block;width:100%;padding:.4rem;box-sizing:border-box}button{margin:.5rem .5rem 0 0;padding:.4rem 1rem}
#error{color:#b00020}`;

// A file rather than inline script, so the pages work under helmet's CSP (script-src 'self').
// The signed authorization query (oauth_query) comes back to Better Auth with every POST; its
// answer is {url}: the next page (consent) or the client's redirect_uri with the code.
const SCRIPT = `(() => {
  const query = location.search.slice(1);
  const params = new URLSearchParams(query);
  const fail = (text) => { const e = document.getElementById("error"); e.textContent = text; e.hidden = false; };
  async function post(path, body) {
    const res = await fetch(path, { method: "POST", credentials: "include",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ ...body, oauth_query: query }) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || data.error_description || data.error || "HTTP " + res.status);
    if (data.url) location.assign(data.url); else fail("Nothing to continue with.");
  }
  const labels = { "tasks:read": "Read your tasks, lists and tags", "tasks:write": "Create, change and delete your tasks and lists",
    offline_access: "Stay connected when you are away (refresh tokens)" };
  const login = document.getElementById("login");
  if (login) login.addEventListener("submit", (event) => { event.preventDefault();
    const form = new FormData(login);
    post("/api/auth/sign-in/email", { email: form.get("email"), password: form.get("password") }).catch((e) => fail(e.message)); });
  const consent = document.getElementById("consent");
  if (consent) {
    const list = document.getElementById("scopes");
    for (const scope of (params.get("scope") || "").split(" ").filter(Boolean)) {
      const li = document.createElement("li"); li.textContent = labels[scope] || scope; list.appendChild(li); }
    if (params.get("resource")) document.getElementById("resource").textContent = params.get("resource");
    fetch("/api/auth/oauth2/public-client?client_id=" + encodeURIComponent(params.get("client_id") || ""), { credentials: "include" })
      .then((r) => (r.ok ? r.json() : {})).then((c) => { if (c.client_name) document.getElementById("client").textContent = c.client_name; })
      .catch(() => undefined);
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
  router.get(OAUTH_CONSENT_PAGE, html(CONSENT));
  router.get("/oauth/assets/oauth.js", (_req, res) => {
    res.type("text/javascript").send(SCRIPT);
  });
  router.get("/oauth/assets/oauth.css", (_req, res) => {
    res.type("text/css").send(CSS);
  });
  return router;
}
