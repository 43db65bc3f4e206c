-- Files a user exported, kept where the exports storage put them.
CREATE TABLE user_exports (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    format     TEXT        NOT NULL CHECK (format IN ('csv')),
    backend    TEXT        NOT NULL,
    key        TEXT        NOT NULL,
    bytes      BIGINT      NOT NULL CHECK (bytes >= 0),
    items      INTEGER     NOT NULL CHECK (items >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (backend, key)
);
CREATE INDEX user_exports_user_idx ON user_exports (user_id, id);
