DROP TABLE jobs;
DROP TABLE document_access;
DROP TABLE document_chunks;
DROP TABLE document_pages;
DROP TABLE user_documents;
