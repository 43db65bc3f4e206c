ALTER TABLE user_exports DROP COLUMN sha256;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('ingest_document', 'delete_vectors', 'make_thumbnails', 'embed_items'));
