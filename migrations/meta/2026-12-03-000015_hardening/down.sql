DELETE FROM sign_in_failures WHERE scope = 'share_unknown_email';
ALTER TABLE sign_in_failures DROP CONSTRAINT sign_in_failures_scope_check;
ALTER TABLE sign_in_failures ADD CONSTRAINT sign_in_failures_scope_check CHECK (scope IN ('account', 'ip'));

ALTER TABLE jobs DROP COLUMN local_store;
