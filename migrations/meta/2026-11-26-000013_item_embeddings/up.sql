-- Inventory items are embedded too, so search finds them by meaning. The text an embedding was
-- made from has a version: a change to any of the words (name, description, category, material,
-- colour, origin, tags) bumps text_version; the embedding worker records the version it embedded.
-- An item needs (re-)embedding while text_version > embedded_version — a durable queue that
-- survives crashes, and an edit made while its old text is being embedded is embedded again.
ALTER TABLE user_inventory
    ADD COLUMN text_version     BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN embedded_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX user_inventory_to_embed_idx ON user_inventory (user_id, id) WHERE text_version > embedded_version;

CREATE FUNCTION user_inventory_bump_text_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.description, NEW.category, NEW.material, NEW.colour, NEW.origin, NEW.tags)
       IS DISTINCT FROM (OLD.name, OLD.description, OLD.category, OLD.material, OLD.colour, OLD.origin, OLD.tags) THEN
        NEW.text_version := OLD.text_version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER user_inventory_text_version
    BEFORE UPDATE OF name, description, category, material, colour, origin, tags ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION user_inventory_bump_text_version();

-- one job per user embeds whatever of theirs is waiting (subject_id is the user's id)
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('ingest_document', 'delete_vectors', 'make_thumbnails', 'embed_items'));

-- Full-text search over passages always has one reader: the index starts with the owner
-- (btree_gin), so a search reads that reader's matching passages, not everyone's.
CREATE INDEX document_chunks_user_tsv_idx ON document_chunks USING GIN (user_id, tsv);
DROP INDEX document_chunks_tsv_idx;
