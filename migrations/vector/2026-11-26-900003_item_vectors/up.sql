-- One embedding per inventory item (its name, description, category, material, colour, origin
-- and tags). Like document_vectors: no foreign keys (the metadata database may be another
-- server), the dimension follows the configured model (start-up or `bartleby reindex` changes it
-- while the table is empty), every row carries user_id and every search filters by it.
CREATE TABLE item_vectors (
    item_id   BIGINT      PRIMARY KEY,
    user_id   BIGINT      NOT NULL,
    model_id  TEXT        NOT NULL,
    embedding vector(384) NOT NULL
);
CREATE INDEX item_vectors_user_idx ON item_vectors (user_id);
CREATE INDEX item_vectors_hnsw_idx ON item_vectors USING hnsw (embedding vector_cosine_ops);
