-- Storage used per user and backend (photos, thumbnails, documents, exports), kept by triggers on the
-- tables that record stored objects, so every path that stores, moves (fallback sync, migration) or
-- deletes an object keeps the figures right.
CREATE TABLE user_storage (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    backend    TEXT        NOT NULL,
    bytes      BIGINT      NOT NULL DEFAULT 0,
    objects    BIGINT      NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, backend)
);

CREATE FUNCTION user_storage_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- an UPDATE, not an upsert: when the user is being deleted their row is already gone
        UPDATE user_storage SET bytes = bytes - OLD.bytes, objects = objects - 1, updated_at = now()
         WHERE user_id = OLD.user_id AND backend = OLD.backend;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO user_storage (user_id, backend, bytes, objects) VALUES (NEW.user_id, NEW.backend, NEW.bytes, 1)
        ON CONFLICT (user_id, backend) DO UPDATE
           SET bytes = user_storage.bytes + EXCLUDED.bytes, objects = user_storage.objects + 1, updated_at = now();
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER inventory_assets_storage AFTER INSERT OR DELETE OR UPDATE OF backend, bytes ON inventory_assets
    FOR EACH ROW EXECUTE FUNCTION user_storage_track();
CREATE TRIGGER user_documents_storage AFTER INSERT OR DELETE OR UPDATE OF backend, bytes ON user_documents
    FOR EACH ROW EXECUTE FUNCTION user_storage_track();
CREATE TRIGGER user_exports_storage AFTER INSERT OR DELETE OR UPDATE OF backend, bytes ON user_exports
    FOR EACH ROW EXECUTE FUNCTION user_storage_track();

INSERT INTO user_storage (user_id, backend, bytes, objects)
SELECT user_id, backend, sum(bytes), count(*) FROM (
    SELECT user_id, backend, bytes FROM inventory_assets
    UNION ALL SELECT user_id, backend, bytes FROM user_documents
    UNION ALL SELECT user_id, backend, bytes FROM user_exports
) o GROUP BY user_id, backend;
