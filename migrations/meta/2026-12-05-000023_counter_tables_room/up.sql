-- The tables triggers keep counts in (items per user, per category, per tag, per place and
-- currency, bytes per backend) are updated on every change of an item: with every page full, each
-- update wrote its row to a new page and a new index entry, and 100,000 items made a user's one
-- row of totals 4 MB of dead versions that every inventory page read through (the place figures:
-- 16 MB for 22,000 rows, 2.6 ms a sum on the dashboard). Free room on each page lets Postgres update a
-- row in place (a HOT update: no new index entry, and the dead version is pruned on the next
-- visit); vacuum comes sooner too. CLUSTER then rewrites each table compactly with that room (the
-- tables hold a few rows per user and place, so this takes moments; it runs in the migration's
-- transaction, unlike VACUUM FULL).
ALTER TABLE user_item_totals SET (fillfactor = 10, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE user_categories SET (fillfactor = 30, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE user_tags SET (fillfactor = 30, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
ALTER TABLE user_place_figures SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_threshold = 1000);
ALTER TABLE user_storage SET (fillfactor = 20, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 200);

CLUSTER user_item_totals USING user_item_totals_pkey;
CLUSTER user_categories USING user_categories_pkey;
CLUSTER user_tags USING user_tags_pkey;
CLUSTER user_place_figures USING user_place_figures_pkey;
CLUSTER user_storage USING user_storage_pkey;
ALTER TABLE user_item_totals SET WITHOUT CLUSTER;
ALTER TABLE user_categories SET WITHOUT CLUSTER;
ALTER TABLE user_tags SET WITHOUT CLUSTER;
ALTER TABLE user_place_figures SET WITHOUT CLUSTER;
ALTER TABLE user_storage SET WITHOUT CLUSTER;
