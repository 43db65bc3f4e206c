DROP TABLE inventory_import_runs;
