DROP TRIGGER user_inventory_terms_changed ON user_inventory;
DROP TRIGGER user_inventory_terms ON user_inventory;
DROP FUNCTION inventory_terms_track();
DROP TABLE user_tags;
DROP TABLE user_categories;
