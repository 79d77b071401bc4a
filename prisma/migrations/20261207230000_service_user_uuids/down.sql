-- Reverts 20261207230000_service_user_uuids: audit-log's and notifications' user id columns back
-- to text. The values stay the UUIDs they were given (as text): an old id mapped on the way up is
-- not recoverable, and users.id holds the same UUIDs.

ALTER TABLE "audit_entries" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "audit_deleted_users" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "reminders" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "webhooks" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "webhook_deliveries" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "stream_events" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "notification_deleted_users" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
ALTER TABLE "stream_tickets" ALTER COLUMN "user_id" TYPE TEXT USING "user_id"::text;
