-- Scans and photographed papers (JPEG, PNG, WebP, HEIC, TIFF) are documents too: read by OCR.
ALTER TABLE user_documents DROP CONSTRAINT user_documents_doc_type_check;
ALTER TABLE user_documents ADD CONSTRAINT user_documents_doc_type_check
    CHECK (doc_type IN ('pdf', 'docx', 'xlsx', 'html', 'md', 'txt', 'image'));

-- How many of a document's pages were read by OCR (their text may hold mistakes: the page says so),
-- and how many pages without text were left unread (past OCR_MAX_PAGES: the page says that too).
ALTER TABLE user_documents ADD COLUMN ocr_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_documents ADD COLUMN ocr_skipped INTEGER NOT NULL DEFAULT 0;
