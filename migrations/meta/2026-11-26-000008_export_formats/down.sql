DELETE FROM user_exports WHERE format <> 'csv';
ALTER TABLE user_exports DROP CONSTRAINT user_exports_format_check;
ALTER TABLE user_exports ADD CONSTRAINT user_exports_format_check CHECK (format IN ('csv'));
