-- A CSV import being committed in the background (a job on the queue) and how far it has got:
-- the import page follows it, and the person may leave and come back to the result. One run per
-- pending file (`token`); a failed run is replaced when the person tries again.
CREATE TABLE inventory_import_runs (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token      TEXT        NOT NULL,
    status     TEXT        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'importing', 'done', 'failed')),
    done       INTEGER     NOT NULL DEFAULT 0,
    total      INTEGER     NOT NULL DEFAULT 0,
    detail     TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, token)
);

ALTER TABLE inventory_import_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON inventory_import_runs USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());
