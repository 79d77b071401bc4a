-- Reverts 20261208003000_credential_account_ids: nothing to undo in the schema. The account ids
-- keep their new values, as the user ids do after uuid_ids' down.sql (the old 32-character ids
-- are not recoverable, and sign-in needs account_id to equal the user id either way).
SELECT 1;
