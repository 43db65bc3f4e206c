DROP TRIGGER inventory_assets_cover_removed ON inventory_assets;
DROP TRIGGER inventory_assets_cover_added ON inventory_assets;
DROP FUNCTION inventory_cover_track();

CREATE OR REPLACE FUNCTION location_path_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE user_inventory SET location_sort = lower(NEW.path) WHERE user_id = NEW.user_id AND location_id = NEW.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION inventory_location_sort() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.location_sort := (SELECT lower(path) FROM user_locations WHERE id = NEW.location_id);
    RETURN NEW;
END $$;

ALTER TABLE user_inventory DROP COLUMN cover_id, DROP COLUMN location_path;
