-- Inventory items. Every row carries user_id; every query filters by it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- array_to_string is only STABLE; tags are plain text, so this wrapper is safe to mark IMMUTABLE
-- (a generated column needs an immutable expression).
CREATE FUNCTION inventory_tags_text(tags TEXT[]) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_to_string(tags, ' ') $$;

CREATE TABLE user_inventory (
    id            BIGSERIAL   PRIMARY KEY,
    user_id       BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description   TEXT        NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    category      TEXT        NOT NULL DEFAULT '' CHECK (length(category) <= 100),
    material      TEXT        NOT NULL DEFAULT '' CHECK (length(material) <= 200),
    colour        TEXT        NOT NULL DEFAULT '' CHECK (length(colour) <= 100),
    dimensions    TEXT        NOT NULL DEFAULT '' CHECK (length(dimensions) <= 200),
    origin        TEXT        NOT NULL DEFAULT '' CHECK (length(origin) <= 200),
    quantity      INTEGER     NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    tags          TEXT[]      NOT NULL DEFAULT '{}',
    -- exact decimals; one currency per item (ISO 4217 code)
    import_cost   NUMERIC(14, 2) CHECK (import_cost >= 0),
    retail_price  NUMERIC(14, 2) CHECK (retail_price >= 0),
    currency      TEXT        NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    search        TSVECTOR    GENERATED ALWAYS AS (
                      setweight(to_tsvector('simple', name), 'A') ||
                      setweight(to_tsvector('simple', category || ' ' || inventory_tags_text(tags)), 'B') ||
                      setweight(to_tsvector('simple', description), 'C')
                  ) STORED,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- the table's sorts and filters, always within one user
CREATE INDEX user_inventory_user_name_idx ON user_inventory (user_id, lower(name), id);
CREATE INDEX user_inventory_user_updated_idx ON user_inventory (user_id, updated_at DESC, id);
CREATE INDEX user_inventory_user_category_idx ON user_inventory (user_id, category);
CREATE INDEX user_inventory_search_idx ON user_inventory USING GIN (search);
CREATE INDEX user_inventory_tags_idx ON user_inventory USING GIN (tags);
CREATE INDEX user_inventory_name_trgm_idx ON user_inventory USING GIN (name gin_trgm_ops);
