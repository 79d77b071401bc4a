-- Single-use live-stream tickets (issue 10: "Tokens in URLs reach logs"): a browser's
-- EventSource cannot send headers, so it opens GET /v1/stream?ticket=... with a ticket it got
-- from POST /v1/stream/tickets (bearer token in the header). Stored here so any notifications
-- replica can consume a ticket another one issued; only the ticket's sha256 is kept.

-- CreateTable
CREATE TABLE "stream_tickets" (
    "ticket_hash" CHAR(64) NOT NULL,
    "user_id" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "token_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stream_tickets_pkey" PRIMARY KEY ("ticket_hash")
);

-- CreateIndex
CREATE INDEX "stream_tickets_expires_at_idx" ON "stream_tickets"("expires_at");

-- notifications alone uses it (its group role exists once the service roles migration ran).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'taskmesh_notifications') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON "stream_tickets" TO taskmesh_notifications;
  END IF;
END
$$;
