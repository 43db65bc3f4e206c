DROP TABLE user_inventory;
DROP FUNCTION inventory_tags_text(TEXT[]);
DROP EXTENSION IF EXISTS pg_trgm;
