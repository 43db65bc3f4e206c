-- Image documents are kept: the older check is added NOT VALID (it holds for new rows only) and
-- validated when no image documents exist, so rolling back loses no one's papers; the older code
-- shows them as files it cannot extract.
ALTER TABLE user_documents DROP CONSTRAINT user_documents_doc_type_check;
ALTER TABLE user_documents ADD CONSTRAINT user_documents_doc_type_check
    CHECK (doc_type IN ('pdf', 'docx', 'xlsx', 'html', 'md', 'txt')) NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM user_documents WHERE doc_type = 'image') THEN
        ALTER TABLE user_documents VALIDATE CONSTRAINT user_documents_doc_type_check;
    END IF;
END $$;

ALTER TABLE user_documents DROP COLUMN ocr_skipped;
ALTER TABLE user_documents DROP COLUMN ocr_pages;
