-- One database role per service, each with rights on its own tables only (issue 10: "One
-- database credential with DDL rights for every service"). The roles are NOLOGIN group roles:
-- nobody connects as them. A service connects with a LOGIN role of its own that is a member
-- (created by `npm start`, the test stacks, or in Kubernetes by the migrate Job's
-- provision-roles step or the operator; see docs/deploy.md "Database roles"). Only the role that
-- runs the migrations owns tables and may CREATE, ALTER or DROP them.
--
-- A migration that adds a table grants it here too, to the one service that uses it
-- (test/db/roles.test.ts fails for a table no service role may use).
--
-- Created only when missing: roles belong to the whole server (every database of it shares
-- them), and an operator whose migration role cannot CREATE ROLE (some managed services)
-- creates these three beforehand.
DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['taskmesh_task_api', 'taskmesh_audit_log', 'taskmesh_notifications'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', name);
    END IF;
  END LOOP;
END
$$;

-- Before PostgreSQL 15 every role may create tables in schema public; from 15 on this is the default.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO taskmesh_task_api, taskmesh_audit_log, taskmesh_notifications;

-- Every service's initContainer (wait-for-migrations) reads which migrations are applied.
GRANT SELECT ON "_prisma_migrations" TO taskmesh_task_api, taskmesh_audit_log, taskmesh_notifications;

-- task-api: accounts and sessions (Better Auth, its OAuth provider, personal access tokens),
-- tasks, lists, tags, idempotency keys and the outbox.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  "users", "sessions", "accounts", "verifications", "jwks",
  "lists", "tasks", "tags", "task_tags", "idempotency_keys", "outbox_events",
  "personal_access_tokens",
  "oauth_clients", "oauth_resources", "oauth_client_resources", "oauth_refresh_tokens",
  "oauth_access_tokens", "oauth_consents", "oauth_client_assertions"
  TO taskmesh_task_api;

-- audit-log: the history.
GRANT SELECT, INSERT, UPDATE, DELETE ON "audit_entries" TO taskmesh_audit_log;

-- notifications: reminders, webhooks and their deliveries, the live stream's events. It
-- connects to hosts users choose, so it must never read sessions, tokens or tasks.
GRANT SELECT, INSERT, UPDATE, DELETE ON "reminders", "webhooks", "webhook_deliveries", "stream_events"
  TO taskmesh_notifications;
GRANT USAGE, SELECT ON SEQUENCE "stream_events_position_seq" TO taskmesh_notifications;
