// Gives every service its own database login (issue 10: no service shares the migration role's
// credential, none has DDL rights, notifications cannot read sessions or tasks).
//
// The application database: migration 20261207150000_service_roles creates the NOLOGIN group
// roles taskmesh_task_api, taskmesh_audit_log and taskmesh_notifications and grants each its own
// tables. This script creates (or updates the password of) the LOGIN role named in each service's
// connection string and makes it a member of its group, so the grants apply to it.
//
// The Dapr state database (not managed by Prisma): each state.postgresql component gets a LOGIN
// role and a schema of its own (its search_path), where daprd creates and owns its tables; state
// tables left in schema public by an older release are moved there. No state role can read the
// other's tables or the application database's.
//
// Used by `npm start` and the test stacks (scripts/stack/postgres.ts) and, in Kubernetes, by the
// taskmesh-migrate Job after `prisma migrate deploy` (image taskmesh/migrate: plain Node ESM
// with `pg` as its only dependency). Run as a script, it reads:
//   DATABASE_URL                      the migration role (owner of the tables; may CREATE ROLE)
//   TASK_API_DATABASE_URL, AUDIT_LOG_DATABASE_URL, NOTIFICATIONS_DATABASE_URL   the services' logins
//   STATE_DB_URL                      the state database's owner (optional, with the next two)
//   RECURRING_TASKS_STATE_DB_URL, NOTIFICATIONS_STATE_DB_URL                   the state stores' logins
// A variable that is not set is skipped (the operator created that login), so a managed
// database where the migration role cannot create roles works too (see docs/deploy.md).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import pg from "pg";

/** Service -> its group role (migration 20261207150000_service_roles). */
export const SERVICE_GROUPS = Object.freeze({
  "task-api": "taskmesh_task_api",
  "audit-log": "taskmesh_audit_log",
  notifications: "taskmesh_notifications",
});

/** State component -> its schema and the tables daprd creates there (dapr-components/statestore.yaml). */
export const STATE_STORES = Object.freeze({
  "recurring-tasks-state": {
    schema: "recurring_tasks_state",
    tables: ["recurring_tasks_state", "recurring_tasks_dapr_metadata"],
  },
  "notifications-state": {
    schema: "notifications_state",
    tables: ["notifications_state", "notifications_dapr_metadata"],
  },
});

function log(level, msg, fields = {}) {
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), name: "provision-roles", msg, ...fields })}\n`,
  );
}

/** User and password of a postgres:// URL or a libpq key=value string. */
export function credentialsOf(connectionString) {
  if (/^postgres(ql)?:\/\//.test(connectionString)) {
    const url = new URL(connectionString);
    return { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  const fields = Object.fromEntries(
    [...connectionString.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)].map(([, k, v]) => [
      k,
      v.startsWith("'") ? v.slice(1, -1).replace(/\\(.)/g, "$1") : v,
    ]),
  );
  return { user: fields.user ?? "", password: fields.password ?? "" };
}

const ident = (client, name) => client.escapeIdentifier(name);

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as its own
 * `scram_build_secret`), so the password itself never appears in a statement (or in a server
 * log with log_statement = 'ddl'). SASLprep leaves printable ASCII as it is; other passwords are
 * sent as they are and hashed by the server.
 */
export function scramVerifier(password, salt = randomBytes(16), iterations = 4096) {
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const storedKey = createHash("sha256")
    .update(createHmac("sha256", salted).update("Client Key").digest())
    .digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

const passwordLiteral = (client, password) =>
  client.escapeLiteral(/^[\x21-\x7e]+$/.test(password) ? scramVerifier(password) : password);

/**
 * A LOGIN role with this password (created, or its password set), never a superuser, and never
 * one that may create roles or databases: a service credential must not be an administrator's.
 */
async function ensureLogin(client, { user, password }, what, log) {
  if (!user || !password) throw new Error(`${what}: the connection string needs a user and a password`);
  const found = await client.query(
    "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = $1",
    [user],
  );
  const role = found.rows[0];
  if (role && (role.rolsuper || role.rolcreaterole || role.rolcreatedb || role.rolbypassrls))
    throw new Error(
      `${what}: role ${user} is an administrator (superuser, CREATEROLE, CREATEDB or BYPASSRLS); give the service a role of its own`,
    );
  const current = (await client.query("SELECT current_user AS name")).rows[0].name;
  if (user === current)
    throw new Error(`${what}: role ${user} is the migration role; give the service a role of its own`);
  const secret = passwordLiteral(client, password);
  if (!role) {
    await client.query(`CREATE ROLE ${ident(client, user)} LOGIN PASSWORD ${secret}`);
    log("info", "login role created", { role: user, for: what });
    return;
  }
  try {
    await client.query(`ALTER ROLE ${ident(client, user)} WITH LOGIN PASSWORD ${secret}`);
  } catch (error) {
    // The operator created this login and the migration role may not change it: keep it as it is.
    if (error?.code !== "42501") throw error;
    log("info", "login role kept (not allowed to change its password)", { role: user, for: what });
  }
}

async function isMember(client, member, group) {
  const { rowCount } = await client.query(
    `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
     WHERE r.rolname = $1 AND u.rolname = $2`,
    [group, member],
  );
  return rowCount > 0;
}

/** Makes `login` a member of `group` (inheriting its privileges). */
async function grantGroup(client, login, group) {
  if (await isMember(client, login, group)) return;
  await client.query(`GRANT ${ident(client, group)} TO ${ident(client, login)}`);
}

/**
 * Creates or updates each service's login role in the application database and makes it a
 * member of that service's group role. `logins`: service name -> connection string.
 */
export async function provisionServiceLogins({ ownerUrl, logins, log: report = log }) {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const users = Object.entries(logins).map(([service, url]) => [service, credentialsOf(url).user]);
    for (const [service, user] of users) {
      const other = users.find(([s, u]) => s !== service && u === user);
      if (other)
        throw new Error(
          `${service} and ${other[0]} share the login ${user}; give each service a role of its own`,
        );
    }
    for (const [service, url] of Object.entries(logins)) {
      const group = SERVICE_GROUPS[service];
      if (!group) throw new Error(`no database role for service ${service}`);
      const missing = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [group]);
      if (missing.rowCount === 0)
        throw new Error(
          `role ${group} does not exist: apply the migrations (20261207150000_service_roles) first`,
        );
      const creds = credentialsOf(url);
      // Checked before anything changes. An owner may ALTER and DROP what it owns: a service login owns nothing.
      const owned = await client.query(
        `SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
         WHERE r.rolname = $1 AND c.relnamespace = 'public'::regnamespace LIMIT 3`,
        [creds.user],
      );
      if (owned.rowCount > 0)
        throw new Error(
          `${service}: role ${creds.user} owns ${owned.rows.map((r) => r.relname).join(", ")}; give the service a role that owns nothing`,
        );
      // Only its own group: a login that is a member of another service's role would have its rights too.
      for (const [otherService, otherGroup] of Object.entries(SERVICE_GROUPS))
        if (otherGroup !== group && (await isMember(client, creds.user, otherGroup)))
          throw new Error(
            `${service}: role ${creds.user} is also a member of ${otherGroup} (${otherService})`,
          );
      await ensureLogin(client, creds, service, report);
      await grantGroup(client, creds.user, group);
    }
  } finally {
    await client.end();
  }
}

/**
 * Creates or updates each state component's login role in the state database, with a schema
 * of its own as its search_path. `logins`: component name -> connection string.
 */
export async function provisionStateLogins({ ownerUrl, logins, log: report = log }) {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const me = (
      await client.query("SELECT current_user AS name, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).rows[0];
    for (const [component, url] of Object.entries(logins)) {
      const store = STATE_STORES[component];
      if (!store) throw new Error(`no state store ${component}`);
      const creds = credentialsOf(url);
      await ensureLogin(client, creds, component, report);
      const role = ident(client, creds.user);
      const schema = ident(client, store.schema);
      // Giving a schema or a table to a role needs membership in it (PostgreSQL 16 gives the
      // creator of a role only ADMIN OPTION).
      if (!me.rolsuper && !(await isMember(client, me.name, creds.user)))
        await client.query(`GRANT ${role} TO CURRENT_USER`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`);
      await client.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
      await client.query(`ALTER ROLE ${role} SET search_path = ${schema}`);
      for (const table of store.tables) {
        const moved = await client.query(
          `SELECT to_regclass(format('public.%I', $1::text)) IS NOT NULL AS legacy,
                  to_regclass(format('%I.%I', $2::text, $1::text)) IS NOT NULL AS present`,
          [table, store.schema],
        );
        const { legacy, present } = moved.rows[0];
        if (legacy && !present) {
          await client.query(`ALTER TABLE public.${ident(client, table)} SET SCHEMA ${schema}`);
          report("info", "state table moved to its store's schema", { table, schema: store.schema });
        }
        if (legacy || present)
          await client.query(`ALTER TABLE ${schema}.${ident(client, table)} OWNER TO ${role}`);
      }
    }
  } finally {
    await client.end();
  }
}

async function main() {
  const env = process.env;
  if (!env.DATABASE_URL) throw new Error("DATABASE_URL (the migration role) is not set");
  const logins = Object.fromEntries(
    [
      ["task-api", env.TASK_API_DATABASE_URL],
      ["audit-log", env.AUDIT_LOG_DATABASE_URL],
      ["notifications", env.NOTIFICATIONS_DATABASE_URL],
    ].filter(([, url]) => url),
  );
  await provisionServiceLogins({ ownerUrl: env.DATABASE_URL, logins });
  log("info", "service logins provisioned", { services: Object.keys(logins) });
  const stateLogins = Object.fromEntries(
    [
      ["recurring-tasks-state", env.RECURRING_TASKS_STATE_DB_URL],
      ["notifications-state", env.NOTIFICATIONS_STATE_DB_URL],
    ].filter(([, url]) => url),
  );
  if (Object.keys(stateLogins).length > 0) {
    if (!env.STATE_DB_URL) throw new Error("STATE_DB_URL (the state database's owner) is not set");
    await provisionStateLogins({ ownerUrl: env.STATE_DB_URL, logins: stateLogins });
    log("info", "state store logins provisioned", { components: Object.keys(stateLogins) });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    log("error", err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
