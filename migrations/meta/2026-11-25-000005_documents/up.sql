-- Documents: the uploaded file (on document storage), its extracted text by page, its chunks with a
-- full-text index, who else may read it, and the durable job queue that ingests it.
CREATE TABLE user_documents (
    id              BIGSERIAL   PRIMARY KEY,
    user_id         BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           TEXT        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    -- the name the browser sent: shown and offered as the download name, never part of a path
    file_name       TEXT        NOT NULL CHECK (length(file_name) BETWEEN 1 AND 300),
    doc_type        TEXT        NOT NULL CHECK (doc_type IN ('pdf', 'docx', 'xlsx', 'html', 'md', 'txt')),
    content_type    TEXT        NOT NULL,
    bytes           BIGINT      NOT NULL CHECK (bytes > 0),
    sha256          TEXT        NOT NULL,
    backend         TEXT        NOT NULL,
    key             TEXT        NOT NULL,
    pages           INTEGER     CHECK (pages >= 0),
    -- queued → extracting → embedding → ready; or failed / no_text
    status          TEXT        NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'extracting', 'embedding', 'ready', 'failed', 'no_text')),
    status_detail   TEXT,
    chunks_total    INTEGER     NOT NULL DEFAULT 0,
    chunks_embedded INTEGER     NOT NULL DEFAULT 0,
    summary         TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, sha256),
    UNIQUE (backend, key)
);
CREATE INDEX user_documents_user_idx ON user_documents (user_id, created_at DESC, id DESC);

CREATE TABLE document_pages (
    document_id BIGINT  NOT NULL REFERENCES user_documents (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    page        INTEGER NOT NULL CHECK (page >= 1),
    text        TEXT    NOT NULL,
    PRIMARY KEY (document_id, page)
);

CREATE TABLE document_chunks (
    id          BIGSERIAL PRIMARY KEY,
    document_id BIGINT    NOT NULL REFERENCES user_documents (id) ON DELETE CASCADE,
    user_id     BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ordinal     INTEGER   NOT NULL CHECK (ordinal >= 0),
    page        INTEGER   NOT NULL CHECK (page >= 1),
    text        TEXT      NOT NULL,
    tsv         TSVECTOR  NOT NULL GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX document_chunks_tsv_idx ON document_chunks USING GIN (tsv);
CREATE INDEX document_chunks_user_idx ON document_chunks (user_id);

-- Read-only sharing: the owner grants a document to another user.
CREATE TABLE document_access (
    document_id BIGINT      NOT NULL REFERENCES user_documents (id) ON DELETE CASCADE,
    owner_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    grantee_id  BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, grantee_id),
    CHECK (owner_id <> grantee_id)
);
CREATE INDEX document_access_grantee_idx ON document_access (grantee_id, document_id);

-- The durable job queue: claimed with FOR UPDATE SKIP LOCKED; a claim is a lease (locked_until)
-- that a crashed worker lets lapse, so another worker resumes the job.
CREATE TABLE jobs (
    id           BIGSERIAL   PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('ingest_document', 'delete_vectors')),
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subject_id   BIGINT      NOT NULL,
    state        TEXT        NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER     NOT NULL DEFAULT 0,
    max_attempts INTEGER     NOT NULL DEFAULT 8 CHECK (max_attempts >= 1),
    run_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until TIMESTAMPTZ,
    locked_by    TEXT,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready_idx ON jobs (run_at) WHERE state IN ('queued', 'running');
CREATE UNIQUE INDEX jobs_one_live_per_subject ON jobs (kind, subject_id) WHERE state IN ('queued', 'running');
