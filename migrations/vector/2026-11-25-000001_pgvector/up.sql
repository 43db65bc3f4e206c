-- The vector database: pgvector, plus a record of which embedding model wrote the vectors
-- (start-up compares it with the configured model).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE embedding_models (
    id          TEXT        PRIMARY KEY,
    dimensions  INTEGER     NOT NULL CHECK (dimensions > 0),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
