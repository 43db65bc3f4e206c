-- The table's word search also finds an item by its material, colour and origin ("walnut",
-- "Denmark"), with the description's weight.
DROP INDEX user_inventory_search_idx;
ALTER TABLE user_inventory DROP COLUMN search;
ALTER TABLE user_inventory ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', category || ' ' || inventory_tags_text(tags)), 'B') ||
    setweight(to_tsvector('simple', description || ' ' || material || ' ' || colour || ' ' || origin), 'C')
) STORED;
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (user_id, search);
