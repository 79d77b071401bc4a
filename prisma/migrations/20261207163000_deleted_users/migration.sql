-- Tombstones of deleted accounts (issue 10: "Account deletion leaves data behind"). audit-log and
-- notifications purge a user's rows on user.deleted and keep the user id here, so a task event of
-- that user delivered late or redelivered (task-events is keyed by task, and no topic orders
-- user.deleted after all of a user's task events) records nothing. Only the id and the time:
-- no personal data. User ids are random and never reused, so a tombstone is never in the way.

-- CreateTable
CREATE TABLE "audit_deleted_users" (
    "user_id" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL,
    "purged_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_deleted_users_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "notification_deleted_users" (
    "user_id" TEXT NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL,
    "purged_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_deleted_users_pkey" PRIMARY KEY ("user_id")
);

-- Each table to the one service that uses it (the service roles of 20261207150000_service_roles;
-- skipped where an operator runs without them).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskmesh_audit_log') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON "audit_deleted_users" TO taskmesh_audit_log;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskmesh_notifications') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON "notification_deleted_users" TO taskmesh_notifications;
  END IF;
END
$$;
