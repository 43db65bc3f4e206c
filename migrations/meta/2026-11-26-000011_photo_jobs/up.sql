-- Thumbnails are made by the durable job queue (a crash between an upload and its thumbnails no
-- longer leaves them unmade), by workers of their own so they never wait behind document ingest.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('ingest_document', 'delete_vectors', 'make_thumbnails'));
CREATE INDEX jobs_ready_kind_idx ON jobs (kind, run_at) WHERE state IN ('queued', 'running');
