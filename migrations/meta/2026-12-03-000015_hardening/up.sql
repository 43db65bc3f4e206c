-- A job whose object sits on one server's local disk names that disk (the id in its
-- .bartleby-store-id file): only a server that sees the same directory claims it. NULL: the object
-- is on a provider every server reaches (or the job needs no file).
ALTER TABLE jobs ADD COLUMN local_store TEXT;

-- Sharing with an email that has no account is counted like a failed sign-in, so the share form
-- cannot be used to test a list of addresses.
ALTER TABLE sign_in_failures DROP CONSTRAINT sign_in_failures_scope_check;
ALTER TABLE sign_in_failures ADD CONSTRAINT sign_in_failures_scope_check
    CHECK (scope IN ('account', 'ip', 'share_unknown_email'));
