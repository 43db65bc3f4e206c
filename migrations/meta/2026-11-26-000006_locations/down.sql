DROP INDEX user_inventory_user_location_idx;
ALTER TABLE user_inventory DROP CONSTRAINT user_inventory_location_fk;
ALTER TABLE user_inventory DROP COLUMN location_id;
DROP TABLE user_locations;
