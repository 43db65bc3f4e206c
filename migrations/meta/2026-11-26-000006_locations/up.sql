-- Where things are: a tree of places per user (a room holds a shelf holds a box). Each item sits in
-- at most one place; moving a box (changing its parent) moves everything inside it.
CREATE TABLE user_locations (
    id         BIGSERIAL   PRIMARY KEY,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    parent_id  BIGINT,
    name       TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100 AND strpos(name, '/') = 0),
    -- "Kitchen / Shelf 2 / Box A": kept in step with the names above it (rename and move rewrite it)
    path       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, id),
    -- a parent belongs to the same user
    FOREIGN KEY (user_id, parent_id) REFERENCES user_locations (user_id, id)
);
-- no two places of the same name side by side (case-insensitive)
CREATE UNIQUE INDEX user_locations_sibling_idx ON user_locations (user_id, COALESCE(parent_id, 0), lower(name));
CREATE INDEX user_locations_parent_idx ON user_locations (user_id, parent_id);

ALTER TABLE user_inventory ADD COLUMN location_id BIGINT;
-- an item's place belongs to the item's owner; deleting a place never deletes items
ALTER TABLE user_inventory ADD CONSTRAINT user_inventory_location_fk
    FOREIGN KEY (user_id, location_id) REFERENCES user_locations (user_id, id) ON DELETE SET NULL (location_id);
CREATE INDEX user_inventory_user_location_idx ON user_inventory (user_id, location_id);
