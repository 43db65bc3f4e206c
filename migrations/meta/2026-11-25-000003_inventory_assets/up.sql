-- One row per stored object: each photo as uploaded, and each thumbnail made from it.
CREATE TABLE inventory_assets (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id      BIGINT      NOT NULL REFERENCES user_inventory (id) ON DELETE CASCADE,
    -- thumbnails point at the photo they were made from
    parent_id    BIGINT      REFERENCES inventory_assets (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('original', 'thumb_256', 'thumb_1024')),
    -- where the object really is: 'local', 's3' or 'vercel'
    backend      TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    content_type TEXT        NOT NULL,
    bytes        BIGINT      NOT NULL CHECK (bytes >= 0),
    width        INTEGER     NOT NULL CHECK (width > 0),
    height       INTEGER     NOT NULL CHECK (height > 0),
    sha256       TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (backend, key)
);
CREATE INDEX inventory_assets_item_idx ON inventory_assets (user_id, item_id, id);
CREATE INDEX inventory_assets_parent_idx ON inventory_assets (parent_id);
