DROP INDEX user_inventory_search_idx;
ALTER TABLE user_inventory DROP COLUMN search;
ALTER TABLE user_inventory ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', category || ' ' || inventory_tags_text(tags)), 'B') ||
    setweight(to_tsvector('simple', description), 'C')
) STORED;
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (user_id, search);
