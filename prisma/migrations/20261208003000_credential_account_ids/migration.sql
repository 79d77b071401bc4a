-- Better Auth signs a password in only with the credential account whose account_id equals the
-- user's id (better-auth's sign-in/email looks for providerId "credential" AND accountId ===
-- user.id). 20261207170000_uuid_ids rewrote users.id and accounts.user_id but left account_id,
-- which for a credential account is a copy of the user id: a user whose 32-character id was
-- migrated could no longer sign in with their password. Data only; no schema change.
UPDATE "accounts" SET "account_id" = "user_id"::text
WHERE "provider_id" = 'credential' AND "account_id" IS DISTINCT FROM "user_id"::text;
