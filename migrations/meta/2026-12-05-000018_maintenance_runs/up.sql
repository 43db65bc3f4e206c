-- What backups, restores and maintenance did, for the administrator and /api/health.
CREATE TABLE maintenance_runs (
    id          BIGSERIAL   PRIMARY KEY,
    kind        TEXT        NOT NULL CHECK (kind IN ('backup', 'restore', 'maintenance')),
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ok          BOOLEAN     NOT NULL,
    -- where the backup went and its size, or what went wrong
    detail      TEXT        NOT NULL DEFAULT '',
    bytes       BIGINT
);
CREATE INDEX maintenance_runs_kind_idx ON maintenance_runs (kind, started_at DESC);
