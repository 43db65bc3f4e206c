-- Maintenance rebuilds an index when it has bloated: when it takes more than 1.5 times the bytes
-- per row it took at its best, as measured here (the first run measures; later runs compare).
-- The measure is the same for B-tree, GIN and HNSW indexes. `name` is "metadata:<index>" or
-- "vectors:<index>" (a separate vector database).
CREATE TABLE index_baselines (
    name          TEXT             PRIMARY KEY,
    bytes_per_row DOUBLE PRECISION NOT NULL CHECK (bytes_per_row > 0),
    measured_at   TIMESTAMPTZ      NOT NULL DEFAULT now()
);

-- the hourly light maintenance (prune, and the rebuild of bloated indexes) is recorded too
ALTER TABLE maintenance_runs DROP CONSTRAINT maintenance_runs_kind_check;
ALTER TABLE maintenance_runs ADD CONSTRAINT maintenance_runs_kind_check
    CHECK (kind IN ('backup', 'restore', 'maintenance', 'upkeep'));
