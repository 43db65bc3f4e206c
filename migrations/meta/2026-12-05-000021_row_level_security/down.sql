DROP POLICY own ON document_chunks;
DROP POLICY shared ON document_chunks;
ALTER TABLE document_chunks DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON document_pages;
DROP POLICY shared ON document_pages;
ALTER TABLE document_pages DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_documents;
DROP POLICY shared ON user_documents;
ALTER TABLE user_documents DISABLE ROW LEVEL SECURITY;
DROP POLICY read ON document_access;
DROP POLICY give ON document_access;
DROP POLICY take_back ON document_access;
ALTER TABLE document_access DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON account_archive_runs;
ALTER TABLE account_archive_runs DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON account_archives;
ALTER TABLE account_archives DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_exports;
ALTER TABLE user_exports DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON inventory_assets;
ALTER TABLE inventory_assets DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_storage;
ALTER TABLE user_storage DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_place_figures;
ALTER TABLE user_place_figures DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_item_totals;
ALTER TABLE user_item_totals DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_tags;
ALTER TABLE user_tags DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_categories;
ALTER TABLE user_categories DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_locations;
ALTER TABLE user_locations DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON user_inventory;
ALTER TABLE user_inventory DISABLE ROW LEVEL SECURITY;
DROP FUNCTION bartleby_user_id();
DO $$
BEGIN
    ALTER FUNCTION ts_match_vq(tsvector, tsquery) NOT LEAKPROOF;
    ALTER FUNCTION texticlike(text, text) NOT LEAKPROOF;
    ALTER FUNCTION word_similarity_op(text, text) NOT LEAKPROOF;
    ALTER FUNCTION arraycontains(anyarray, anyarray) NOT LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END $$;
-- the role is the cluster's (other databases may use it): it stays
