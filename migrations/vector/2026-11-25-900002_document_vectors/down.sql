DROP TABLE document_vectors;
