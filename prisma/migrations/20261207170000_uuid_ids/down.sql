-- Reverts 20261207170000_uuid_ids: the key and user id columns back to text, foreign keys kept.
-- The ids keep their new (UUID) values: the old 32-character ids are not recoverable, and nothing
-- needs them, since every column that held one was rewritten the same way.

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
    EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE TEXT USING %I::text',
      col.tbl, col.name, col.name);
  END LOOP;

  FOR fk IN SELECT * FROM taskmesh_fks LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.tbl, fk.name, fk.def);
  END LOOP;
END
$$;
