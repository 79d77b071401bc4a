-- audit-log's and notifications' user id columns become uuid, as task-api's did in
-- 20261207170000_uuid_ids. That migration rewrote their values but kept them text while the event
-- contracts still took any string as a user id; the contracts now require a UUID
-- (packages/contracts: data.userId, task.userId), so these columns can say so too.
--
-- Existing values: uuid_ids already rewrote every row it found, so almost all are UUIDs and keep
-- their value. Anything else (an event with an old 32-character id delivered after uuid_ids, a
-- tombstone written since) is mapped with uuid_ids' own function, copied below unchanged: the same
-- old id becomes the same UUID as in users.id, so each user's rows stay theirs, and no mapping
-- table is needed.
--
-- Columns, per table (every user id audit-log and notifications keep):
--   audit_entries.user_id               the task's owner (data.userId)
--   audit_deleted_users.user_id         a deleted account (user.deleted's data.userId)
--   reminders.user_id                   the task's owner
--   webhooks.user_id                    the owner, from the bearer token's subject
--   webhook_deliveries.user_id          the webhook's owner
--   stream_events.user_id               the event's owner
--   notification_deleted_users.user_id  a deleted account
--   stream_tickets.user_id              who the ticket was issued to, from the bearer token
-- Not changed: audit_entries.actor stays jsonb as delivered. Its id is a user id only when
-- kind = 'user'; for kind = 'service' it is the Dapr app id of the service acting for the user
-- (e.g. "recurring-tasks"), which is no UUID and no user, so it cannot be a uuid column, and the
-- contracts keep actor.id any string. Like the events kept in audit_entries.task,
-- stream_events.event and webhook_deliveries.payload, it is history (what was sent at the time)
-- and stays as it was, as uuid_ids decided.
--
-- None of these columns has a foreign key; their indexes (audit_deleted_users' and
-- notification_deleted_users' primary keys included) are rebuilt by ALTER TYPE, which keeps the
-- per-service groups' grants, so nothing new is granted. down.sql beside this file returns the
-- columns to text (the UUID values stay).

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

ALTER TABLE "audit_entries"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "audit_deleted_users"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "reminders"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "webhooks"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "webhook_deliveries"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "stream_events"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "notification_deleted_users"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");
ALTER TABLE "stream_tickets"
  ALTER COLUMN "user_id" TYPE UUID USING pg_temp.taskmesh_uuid("user_id");

DROP FUNCTION pg_temp.taskmesh_uuid(text);
