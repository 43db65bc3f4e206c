-- The table, the grid and search show each item's place and first photo: both are copied onto the
-- item and kept in step by triggers, so a page of items is one query with no lookup per row.
ALTER TABLE user_inventory ADD COLUMN location_path TEXT, ADD COLUMN cover_id BIGINT;
UPDATE user_inventory i SET location_path = l.path FROM user_locations l WHERE l.id = i.location_id;
UPDATE user_inventory i SET cover_id = c.id
    FROM (SELECT item_id, min(id) AS id FROM inventory_assets WHERE kind = 'thumb_256' GROUP BY item_id) c
    WHERE c.item_id = i.id;

-- an item put in a place: its path as shown, and as sorted
CREATE OR REPLACE FUNCTION inventory_location_sort() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT path, lower(path) INTO NEW.location_path, NEW.location_sort FROM user_locations WHERE id = NEW.location_id;
    RETURN NEW;
END $$;

-- a place renamed or moved: the items in it
CREATE OR REPLACE FUNCTION location_path_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_inventory SET location_sort = lower(NEW.path), location_path = NEW.path
     WHERE user_id = NEW.user_id AND location_id = NEW.id;
    RETURN NULL;
END $$;

-- a small thumbnail made or removed: the item's cover is its first photo's (read in the order of
-- the photos' index, so each is one index lookup)
CREATE FUNCTION inventory_cover_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    item  BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.item_id ELSE NEW.item_id END;
BEGIN
    UPDATE user_inventory SET cover_id = (
        SELECT a.id FROM inventory_assets a
         WHERE a.user_id = owner AND a.item_id = item AND a.kind = 'thumb_256'
         ORDER BY a.user_id, a.item_id, a.id LIMIT 1)
     WHERE id = item;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_assets_cover_added AFTER INSERT ON inventory_assets
    FOR EACH ROW WHEN (NEW.kind = 'thumb_256') EXECUTE FUNCTION inventory_cover_track();
CREATE TRIGGER inventory_assets_cover_removed AFTER DELETE ON inventory_assets
    FOR EACH ROW WHEN (OLD.kind = 'thumb_256') EXECUTE FUNCTION inventory_cover_track();
