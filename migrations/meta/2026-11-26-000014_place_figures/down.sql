DROP TRIGGER user_inventory_place_figures_update ON user_inventory;
DROP TRIGGER user_inventory_place_figures ON user_inventory;
DROP FUNCTION inventory_place_figures_track();
DROP TABLE user_place_figures;
