-- The inventory table at 100,000+ items per user (see `bartleby bench inventory`):
-- every search, tag filter and sort reads only the signed-in user's part of an index.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- the user's id leads each GIN index, so a word common across all users costs only one user's rows
DROP INDEX user_inventory_search_idx;
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (user_id, search);
DROP INDEX user_inventory_name_trgm_idx;
CREATE INDEX user_inventory_name_trgm_idx ON user_inventory USING GIN (user_id, name gin_trgm_ops);
DROP INDEX user_inventory_tags_idx;
CREATE INDEX user_inventory_tags_idx ON user_inventory USING GIN (user_id, tags);

-- each sort of the table is an index walk that stops after one page
DROP INDEX user_inventory_user_category_idx;
CREATE INDEX user_inventory_user_category_idx ON user_inventory (user_id, category, lower(name), id);
CREATE INDEX user_inventory_user_price_idx ON user_inventory (user_id, retail_price, id);
CREATE INDEX user_inventory_user_price_desc_idx ON user_inventory (user_id, retail_price DESC NULLS LAST, id DESC);
CREATE INDEX user_inventory_user_quantity_idx ON user_inventory (user_id, quantity, id);

-- sorting by location: the place's path, copied onto the item and kept in step by triggers
ALTER TABLE user_inventory ADD COLUMN location_sort TEXT;
UPDATE user_inventory i SET location_sort = lower(l.path) FROM user_locations l WHERE l.id = i.location_id;
CREATE INDEX user_inventory_user_location_sort_idx ON user_inventory (user_id, location_sort, lower(name), id);

CREATE FUNCTION inventory_location_sort() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.location_sort := (SELECT lower(path) FROM user_locations WHERE id = NEW.location_id);
    RETURN NEW;
END $$;
CREATE TRIGGER user_inventory_location_sort BEFORE INSERT OR UPDATE OF location_id ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_location_sort();

CREATE FUNCTION location_path_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_inventory SET location_sort = lower(NEW.path) WHERE user_id = NEW.user_id AND location_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER user_locations_path_changed AFTER UPDATE OF path ON user_locations
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION location_path_changed();

-- each user's number of items, kept by triggers (the unfiltered table's count without a scan)
CREATE TABLE user_item_totals (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    items   BIGINT NOT NULL DEFAULT 0
);
CREATE FUNCTION inventory_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_item_totals (user_id, items) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET items = user_item_totals.items + 1;
    ELSE
        UPDATE user_item_totals SET items = items - 1 WHERE user_id = OLD.user_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER user_inventory_totals AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_totals_track();
INSERT INTO user_item_totals (user_id, items) SELECT user_id, count(*) FROM user_inventory GROUP BY user_id;
