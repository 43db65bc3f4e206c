-- A user's archive of everything they keep ("take your data and go"): built in the background
-- (the run, with its progress), then stored like an export (the archive, a stored object).
CREATE TABLE account_archives (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    backend      TEXT        NOT NULL CHECK (backend IN ('local', 's3', 'vercel')),
    key          TEXT        NOT NULL UNIQUE,
    content_type TEXT        NOT NULL DEFAULT 'application/zip',
    bytes        BIGINT      NOT NULL,
    sha256       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX account_archives_user_idx ON account_archives (user_id, id DESC);

CREATE TABLE account_archive_runs (
    id          BIGSERIAL   PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      TEXT        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'building', 'ready', 'failed')),
    done        INTEGER     NOT NULL DEFAULT 0,
    total       INTEGER     NOT NULL DEFAULT 0,
    detail      TEXT,
    archive_id  BIGINT      REFERENCES account_archives (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX account_archive_runs_user_idx ON account_archive_runs (user_id, id DESC);

-- archives count towards the storage a user uses, like their photos, documents and exports
CREATE TRIGGER account_archives_storage AFTER INSERT OR DELETE OR UPDATE OF backend, bytes ON account_archives
    FOR EACH ROW EXECUTE FUNCTION user_storage_track();
