-- UUID keys, the auth tables included (issue 11, "Keys as the design asks"). Better Auth now asks
-- for UUIDs (advanced.database.generateId: "uuid"); with Postgres its Prisma adapter then leaves
-- the id to the database side, which Prisma's @default(uuid(7)) fills.
--
-- Existing ids: a UUID-valued id keeps its value; any other (Better Auth's 32-character random
-- strings) becomes a UUID derived from it (md5 of the old id, version 8 "custom" bits set). The
-- mapping is a pure function of the old value, so every column that holds a user id is rewritten
-- the same way whether or not it has a foreign key (audit-log's and notifications' tables, the
-- tombstones of deleted accounts, whose users no longer exist), and no mapping table has to be
-- kept in step. Foreign keys are dropped, the columns retyped, and the same keys recreated from
-- their saved definitions. Pending outbox events carry user ids consumers store (data.userId,
-- data.task.userId, data.actor.id of a user actor): rewritten so they fit the new columns.
-- History already delivered (audit_entries' JSON, stream_events.event, webhook payloads) is what
-- was sent at the time and stays as it was. Changing jwks ids retires the signing keys' kids: an
-- access token issued before (sub = an old user id, at most 15 minutes old) no longer verifies,
-- and its client refreshes or signs in again. Grants on the tables are kept by ALTER TYPE.
-- down.sql beside this file returns the columns to text (the new values stay).

CREATE FUNCTION pg_temp.taskmesh_uuid(old text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE
    WHEN old ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN old::uuid
    ELSE (
      substr(md5(old), 1, 12) || '8' || substr(md5(old), 14, 3)
      || substr('89ab', (get_byte(decode(md5(old), 'hex'), 8) % 4) + 1, 1)
      || substr(md5(old), 18)
    )::uuid
  END
$$;

CREATE FUNCTION pg_temp.taskmesh_uuid_json(value jsonb, path text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN jsonb_typeof(value #> path) = 'string'
      THEN jsonb_set(value, path, to_jsonb(pg_temp.taskmesh_uuid(value #>> path)::text))
    ELSE value
  END
$$;

UPDATE "outbox_events" SET "data" =
  pg_temp.taskmesh_uuid_json(pg_temp.taskmesh_uuid_json("data", '{userId}'), '{task,userId}');
UPDATE "outbox_events" SET "data" = pg_temp.taskmesh_uuid_json("data", '{actor,id}')
  WHERE "data" #>> '{actor,kind}' = 'user';

-- audit-log's and notifications' user id columns (stream_tickets too) keep type text for now (their event contracts
-- still accept any string as a user id), but their values are rewritten the same way, so each
-- user's history, reminders, webhooks and stream events stay theirs.
UPDATE "audit_entries" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "audit_deleted_users" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "reminders" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "webhooks" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "webhook_deliveries" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "stream_events" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "notification_deleted_users" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;
UPDATE "stream_tickets" SET "user_id" = pg_temp.taskmesh_uuid("user_id")::text;

DO $$
DECLARE
  fk record;
  col record;
BEGIN
  CREATE TEMP TABLE taskmesh_fks ON COMMIT DROP AS
    SELECT c.conrelid::regclass AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE c.contype = 'f' AND n.nspname = current_schema();
  FOR fk IN SELECT * FROM taskmesh_fks LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.tbl, fk.name);
  END LOOP;

  FOR col IN SELECT * FROM (VALUES
    ('users', 'id'),
    ('sessions', 'id'), ('sessions', 'user_id'),
    ('accounts', 'id'), ('accounts', 'user_id'),
    ('verifications', 'id'),
    ('jwks', 'id'),
    ('personal_access_tokens', 'user_id'),
    ('oauth_clients', 'id'), ('oauth_clients', 'user_id'),
    ('oauth_resources', 'id'),
    ('oauth_client_resources', 'id'),
    ('oauth_refresh_tokens', 'id'), ('oauth_refresh_tokens', 'session_id'),
    ('oauth_refresh_tokens', 'user_id'),
    ('oauth_access_tokens', 'id'), ('oauth_access_tokens', 'session_id'),
    ('oauth_access_tokens', 'user_id'), ('oauth_access_tokens', 'refresh_id'),
    ('oauth_consents', 'id'), ('oauth_consents', 'user_id'),
    ('oauth_client_assertions', 'id'),
    ('lists', 'user_id'),
    ('tasks', 'user_id'),
    ('tags', 'user_id'),
    ('task_tags', 'user_id'),
    ('idempotency_keys', 'user_id')
  ) AS c(tbl, name) LOOP
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE UUID USING pg_temp.taskmesh_uuid(%I)',
      col.tbl, col.name, col.name);
  END LOOP;

  FOR fk IN SELECT * FROM taskmesh_fks LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.name, fk.def);
  END LOOP;
END
$$;

DROP FUNCTION pg_temp.taskmesh_uuid_json(jsonb, text[]);
DROP FUNCTION pg_temp.taskmesh_uuid(text);
