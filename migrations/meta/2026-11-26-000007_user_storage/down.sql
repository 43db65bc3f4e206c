DROP TRIGGER user_exports_storage ON user_exports;
DROP TRIGGER user_documents_storage ON user_documents;
DROP TRIGGER inventory_assets_storage ON inventory_assets;
DROP FUNCTION user_storage_track();
DROP TABLE user_storage;
