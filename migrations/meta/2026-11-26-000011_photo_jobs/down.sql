DROP INDEX jobs_ready_kind_idx;
DELETE FROM jobs WHERE kind = 'make_thumbnails';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('ingest_document', 'delete_vectors'));
