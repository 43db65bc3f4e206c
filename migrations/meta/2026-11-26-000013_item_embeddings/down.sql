CREATE INDEX document_chunks_tsv_idx ON document_chunks USING GIN (tsv);
DROP INDEX document_chunks_user_tsv_idx;
DELETE FROM jobs WHERE kind = 'embed_items';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('ingest_document', 'delete_vectors', 'make_thumbnails'));
DROP TRIGGER user_inventory_text_version ON user_inventory;
DROP FUNCTION user_inventory_bump_text_version();
DROP INDEX user_inventory_to_embed_idx;
ALTER TABLE user_inventory DROP COLUMN embedded_version, DROP COLUMN text_version;
