DROP POLICY own ON item_vectors;
ALTER TABLE item_vectors DISABLE ROW LEVEL SECURITY;
DROP POLICY own ON document_vectors;
DROP POLICY shared ON document_vectors;
ALTER TABLE document_vectors DISABLE ROW LEVEL SECURITY;
DROP FUNCTION bartleby_vector_documents();
DROP FUNCTION bartleby_vector_reader();
DO $$
BEGIN
    REVOKE ALL ON document_vectors, item_vectors, embedding_models FROM bartleby_user;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END $$;
-- the role is the cluster's (other databases may use it): it stays
