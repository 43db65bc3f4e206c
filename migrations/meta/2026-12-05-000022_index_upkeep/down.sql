DELETE FROM maintenance_runs WHERE kind = 'upkeep';
ALTER TABLE maintenance_runs DROP CONSTRAINT maintenance_runs_kind_check;
ALTER TABLE maintenance_runs ADD CONSTRAINT maintenance_runs_kind_check
    CHECK (kind IN ('backup', 'restore', 'maintenance'));
DROP TABLE index_baselines;
