-- Vector migrations are numbered 9xxxxx: when the vector tables live in the metadata database
-- (NEON_DATABASE_URL unset), both sets share one migrations table and their versions must differ.
-- The vector database: pgvector, plus a record of which embedding model wrote the vectors
-- (start-up compares it with the configured model).
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS embedding_models (
    id          TEXT        PRIMARY KEY,
    dimensions  INTEGER     NOT NULL CHECK (dimensions > 0),
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
