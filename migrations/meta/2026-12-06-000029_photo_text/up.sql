-- The words OCR finds on an item's photos (a label, a model or serial number) are the item's too:
-- searched by the table's words (the lowest weight) and embedded with the rest of its text.
ALTER TABLE inventory_assets ADD COLUMN ocr_text TEXT;  -- originals only; NULL: not read yet
ALTER TABLE user_inventory ADD COLUMN photo_text TEXT NOT NULL DEFAULT '';

-- an item's photo_text is its photos' words, kept as they are read and deleted
CREATE FUNCTION inventory_photo_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    item BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.item_id ELSE NEW.item_id END;
BEGIN
    UPDATE user_inventory SET photo_text = coalesce(
        (SELECT string_agg(ocr_text, E'\n' ORDER BY id) FROM inventory_assets
          WHERE item_id = item AND kind = 'original' AND ocr_text <> ''), '')
     WHERE id = item;
    RETURN NULL;
END $$;
CREATE TRIGGER inventory_assets_text_read AFTER UPDATE OF ocr_text ON inventory_assets
    FOR EACH ROW WHEN (NEW.ocr_text IS DISTINCT FROM OLD.ocr_text) EXECUTE FUNCTION inventory_photo_text();
CREATE TRIGGER inventory_assets_text_removed AFTER DELETE ON inventory_assets
    FOR EACH ROW WHEN (OLD.ocr_text <> '') EXECUTE FUNCTION inventory_photo_text();

DROP INDEX user_inventory_search_idx;
ALTER TABLE user_inventory DROP COLUMN search;
ALTER TABLE user_inventory ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', name), 'A') ||
    setweight(to_tsvector('simple', category || ' ' || inventory_tags_text(tags)), 'B') ||
    setweight(to_tsvector('simple', description || ' ' || material || ' ' || colour || ' ' || origin), 'C') ||
    setweight(to_tsvector('simple', photo_text), 'D')
) STORED;
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (user_id, search);

-- new words on a photo make the item due for embedding again
CREATE OR REPLACE FUNCTION user_inventory_bump_text_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.description, NEW.category, NEW.material, NEW.colour, NEW.origin, NEW.tags, NEW.photo_text)
       IS DISTINCT FROM (OLD.name, OLD.description, OLD.category, OLD.material, OLD.colour, OLD.origin, OLD.tags, OLD.photo_text) THEN
        NEW.text_version := OLD.text_version + 1;
    END IF;
    RETURN NEW;
END $$;
DROP TRIGGER user_inventory_text_version ON user_inventory;
CREATE TRIGGER user_inventory_text_version
    BEFORE UPDATE OF name, description, category, material, colour, origin, tags, photo_text ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION user_inventory_bump_text_version();
