-- Each user's categories and tags with how many items carry them, kept by triggers on
-- user_inventory: the filter menus, the form's suggestions and the dashboard read these small
-- tables instead of scanning every item. A name disappears when its last item does.
CREATE TABLE user_categories (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT   NOT NULL,
    items   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, name)
);
CREATE TABLE user_tags (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT   NOT NULL,
    items   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, name)
);

CREATE FUNCTION inventory_terms_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- UPDATEs, not upserts: when the user is being deleted their rows are already gone
        IF OLD.category <> '' THEN
            UPDATE user_categories SET items = items - 1 WHERE user_id = OLD.user_id AND name = OLD.category;
            DELETE FROM user_categories WHERE user_id = OLD.user_id AND name = OLD.category AND items <= 0;
        END IF;
        IF cardinality(OLD.tags) > 0 THEN
            UPDATE user_tags SET items = items - 1 WHERE user_id = OLD.user_id AND name = ANY (OLD.tags);
            DELETE FROM user_tags WHERE user_id = OLD.user_id AND name = ANY (OLD.tags) AND items <= 0;
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF NEW.category <> '' THEN
            INSERT INTO user_categories (user_id, name, items) VALUES (NEW.user_id, NEW.category, 1)
            ON CONFLICT (user_id, name) DO UPDATE SET items = user_categories.items + 1;
        END IF;
        IF cardinality(NEW.tags) > 0 THEN
            INSERT INTO user_tags (user_id, name, items)
            SELECT DISTINCT NEW.user_id, t, 1 FROM unnest(NEW.tags) AS t WHERE t IS NOT NULL
            ON CONFLICT (user_id, name) DO UPDATE SET items = user_tags.items + 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER user_inventory_terms AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_terms_track();
CREATE TRIGGER user_inventory_terms_changed AFTER UPDATE OF category, tags ON user_inventory
    FOR EACH ROW WHEN (OLD.category IS DISTINCT FROM NEW.category OR OLD.tags IS DISTINCT FROM NEW.tags)
    EXECUTE FUNCTION inventory_terms_track();

INSERT INTO user_categories (user_id, name, items)
SELECT user_id, category, count(*) FROM user_inventory WHERE category <> '' GROUP BY user_id, category;
INSERT INTO user_tags (user_id, name, items)
SELECT user_id, t, count(*) FROM user_inventory, unnest(tags) AS t WHERE t IS NOT NULL GROUP BY user_id, t;
