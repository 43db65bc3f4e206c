-- the older code knows no job of this kind
DELETE FROM jobs WHERE kind = 'read_photo_text';

CREATE OR REPLACE FUNCTION user_inventory_bump_text_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.description, NEW.category, NEW.material, NEW.colour, NEW.origin, NEW.tags)
       IS DISTINCT FROM (OLD.name, OLD.description, OLD.category, OLD.material, OLD.colour, OLD.origin, OLD.tags) THEN
        NEW.text_version := OLD.text_version + 1;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER user_inventory_text_version ON user_inventory;
CREATE TRIGGER user_inventory_text_version
    BEFORE UPDATE OF name, description, category, material, colour, origin, tags ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION user_inventory_bump_text_version();

DROP INDEX user_inventory_search_idx;
ALTER TABLE user_inventory DROP COLUMN search;
ALTER TABLE user_inventory ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', category || ' ' || inventory_tags_text(tags)), 'B') ||
    setweight(to_tsvector('simple', description || ' ' || material || ' ' || colour || ' ' || origin), 'C')
) STORED;
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (user_id, search);

DROP TRIGGER inventory_assets_text_removed ON inventory_assets;
DROP TRIGGER inventory_assets_text_read ON inventory_assets;
DROP FUNCTION inventory_photo_text();
ALTER TABLE user_inventory DROP COLUMN photo_text;
ALTER TABLE inventory_assets DROP COLUMN ocr_text;
