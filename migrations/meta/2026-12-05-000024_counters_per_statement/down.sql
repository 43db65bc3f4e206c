DROP TRIGGER user_inventory_counts_removed ON user_inventory;
DROP TRIGGER user_inventory_counts_added ON user_inventory;
DROP FUNCTION inventory_counts_removed();
DROP FUNCTION inventory_counts_added();
CREATE TRIGGER user_inventory_totals AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_totals_track();
CREATE TRIGGER user_inventory_terms AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_terms_track();
CREATE TRIGGER user_inventory_place_figures AFTER INSERT OR DELETE ON user_inventory
    FOR EACH ROW EXECUTE FUNCTION inventory_place_figures_track();
