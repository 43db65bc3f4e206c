-- Row-level security for the vectors, as migration 000021 gives the metadata tables. The vector
-- database may be another server that knows nothing of users or shares: the app says who is
-- reading (bartleby.user_id) and which shared documents they may read (bartleby.documents, the
-- list the metadata database's own policies returned), and runs the search as bartleby_user
-- (platform::db::conn_as_reader). Background jobs and commands write as the connecting user,
-- which owns the tables and is not limited.
DO $$
BEGIN
    BEGIN
        CREATE ROLE bartleby_user NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
    END;
    IF NOT pg_has_role(current_user, 'bartleby_user', 'MEMBER') THEN
        EXECUTE format('GRANT bartleby_user TO %I', current_user);
    END IF;
    GRANT USAGE ON SCHEMA public TO bartleby_user;
    GRANT SELECT, DELETE ON document_vectors, item_vectors TO bartleby_user;
    GRANT SELECT ON embedding_models TO bartleby_user;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'row-level security is not enforced on the vectors: this database user cannot create the role bartleby_user';
END $$;

CREATE FUNCTION bartleby_vector_reader() RETURNS BIGINT LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('bartleby.user_id', true), '')::BIGINT $$;
CREATE FUNCTION bartleby_vector_documents() RETURNS BIGINT[] LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('bartleby.documents', true), ''), '{}')::BIGINT[] $$;

ALTER TABLE document_vectors ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON document_vectors USING (user_id = bartleby_vector_reader());
CREATE POLICY shared ON document_vectors FOR SELECT USING (document_id = ANY (bartleby_vector_documents()));

ALTER TABLE item_vectors ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON item_vectors USING (user_id = bartleby_vector_reader());
