-- Row-level security: what a user's requests read and write is limited, by Postgres itself, to
-- their own rows (and the documents shared with them), whatever a query forgets. The app runs a
-- user's work as the role bartleby_user with bartleby.user_id set (platform::db::conn_as);
-- background jobs and commands run as the connecting user, which owns the tables and is not
-- limited. When the database user may not create roles (some hosted plans), the policies exist
-- but nothing runs as bartleby_user: /api/health says row-level security is not enforced.
DO $$
BEGIN
    -- the role is the cluster's: databases migrating at the same moment may both try to create it
    BEGIN
        CREATE ROLE bartleby_user NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
    END;
    IF NOT pg_has_role(current_user, 'bartleby_user', 'MEMBER') THEN
        EXECUTE format('GRANT bartleby_user TO %I', current_user);
    END IF;
    GRANT USAGE ON SCHEMA public TO bartleby_user;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bartleby_user;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO bartleby_user;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bartleby_user;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO bartleby_user;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'row-level security is not enforced: this database user cannot create the role bartleby_user';
END $$;

-- The table's searches and its tag filter match with these operators (@@, ILIKE, <%, @>). Postgres keeps an operator that is not marked
-- LEAKPROOF from running before a row's policy is checked, and so from using its index: the word
-- and fuzzy searches of the inventory ran 2-3 times slower. None of the three puts a row's value
-- in an error (they fail only on the searcher's own malformed pattern or query). Needs a
-- superuser (the embedded Postgres); elsewhere the searches are slower under the policies.
DO $$
BEGIN
    ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
    ALTER FUNCTION texticlike(text, text) LEAKPROOF;
    ALTER FUNCTION word_similarity_op(text, text) LEAKPROOF;
    ALTER FUNCTION arraycontains(anyarray, anyarray) LEAKPROOF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'the search operators stay not leakproof: searches are slower under row-level security';
END $$;

CREATE FUNCTION bartleby_user_id() RETURNS BIGINT LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('bartleby.user_id', true), '')::BIGINT $$;

ALTER TABLE user_inventory ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_inventory USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_locations ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_locations USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_categories ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_categories USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_tags USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_item_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_item_totals USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_place_figures ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_place_figures USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_storage ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_storage USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE inventory_assets ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON inventory_assets USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE user_exports ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_exports USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE account_archives ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON account_archives USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE account_archive_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON account_archive_runs USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());

ALTER TABLE document_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON document_access FOR SELECT
    USING (owner_id = bartleby_user_id() OR grantee_id = bartleby_user_id());
CREATE POLICY give ON document_access FOR INSERT WITH CHECK (owner_id = bartleby_user_id());
CREATE POLICY take_back ON document_access FOR DELETE USING (owner_id = bartleby_user_id());

ALTER TABLE user_documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON user_documents USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());
CREATE POLICY shared ON user_documents FOR SELECT USING (EXISTS (
    SELECT 1 FROM document_access a WHERE a.document_id = user_documents.id AND a.grantee_id = bartleby_user_id()));

ALTER TABLE document_pages ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON document_pages USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());
CREATE POLICY shared ON document_pages FOR SELECT USING (EXISTS (
    SELECT 1 FROM document_access a WHERE a.document_id = document_pages.document_id AND a.grantee_id = bartleby_user_id()));

ALTER TABLE document_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON document_chunks USING (user_id = bartleby_user_id()) WITH CHECK (user_id = bartleby_user_id());
CREATE POLICY shared ON document_chunks FOR SELECT USING (EXISTS (
    SELECT 1 FROM document_access a WHERE a.document_id = document_chunks.document_id AND a.grantee_id = bartleby_user_id()));
