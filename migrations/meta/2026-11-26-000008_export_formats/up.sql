-- Exports as Excel, JSON and ZIP (with the photos) as well as CSV.
ALTER TABLE user_exports DROP CONSTRAINT user_exports_format_check;
ALTER TABLE user_exports ADD CONSTRAINT user_exports_format_check CHECK (format IN ('csv', 'xlsx', 'json', 'zip'));
