-- Image documents are kept (NOT VALID checks new rows only): rolling back loses nothing, and the
-- older code reads them as files it cannot extract.
ALTER TABLE user_documents DROP CONSTRAINT user_documents_doc_type_check;
ALTER TABLE user_documents ADD CONSTRAINT user_documents_doc_type_check
    CHECK (doc_type IN ('pdf', 'docx', 'xlsx', 'html', 'md', 'txt')) NOT VALID;

ALTER TABLE user_documents DROP COLUMN ocr_pages;
