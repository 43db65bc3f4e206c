-- Job kinds have one list: the registry the server assembles from each feature's jobs
-- (app/src/jobs.rs). A CHECK here was a second list to keep in step with it.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;

-- Exports record their sha256 like photos and documents, so a move between backends checks the
-- copy against the record (exports written before this have none: their copies are compared
-- with each other only).
ALTER TABLE user_exports ADD COLUMN sha256 TEXT;
