DROP TABLE inventory_assets;
