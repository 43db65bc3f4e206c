-- Accounts, sessions and sign-in throttling.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    -- stored trimmed and lower-cased: one account per address, however it is typed
    email         TEXT        NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254),
    display_name  TEXT        NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    password_hash TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- tower-sessions records, shared by every app server; a restart signs nobody out.
CREATE TABLE sessions (
    id          TEXT        PRIMARY KEY,
    data        JSONB       NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_date_idx ON sessions (expiry_date);

-- Failed sign-ins, per account (scope 'account', key = email) and per client address
-- (scope 'ip'). Kept in Postgres so that every app server sees the same counts.
CREATE TABLE sign_in_failures (
    id        BIGSERIAL   PRIMARY KEY,
    scope     TEXT        NOT NULL CHECK (scope IN ('account', 'ip')),
    key       TEXT        NOT NULL,
    failed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_lookup_idx ON sign_in_failures (scope, key, failed_at);
