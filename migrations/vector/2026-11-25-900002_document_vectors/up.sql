-- One embedding per document chunk. The dimension is the local model's (384); start-up (or
-- `bartleby reindex`) changes it when another model is configured and the table is empty.
-- chunk_id, document_id and user_id refer to the metadata database, which may be another server:
-- no foreign keys; deleting a document deletes its vectors explicitly.
CREATE TABLE document_vectors (
    chunk_id    BIGINT      PRIMARY KEY,
    document_id BIGINT      NOT NULL,
    user_id     BIGINT      NOT NULL,
    model_id    TEXT        NOT NULL,
    embedding   vector(384) NOT NULL
);
CREATE INDEX document_vectors_hnsw_idx ON document_vectors USING hnsw (embedding vector_cosine_ops);
CREATE INDEX document_vectors_user_idx ON document_vectors (user_id);
CREATE INDEX document_vectors_document_idx ON document_vectors (document_id);
