DROP TABLE embedding_models;
DROP EXTENSION IF EXISTS vector;
