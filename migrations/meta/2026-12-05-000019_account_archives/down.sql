DROP TRIGGER account_archives_storage ON account_archives;
DROP TABLE account_archive_runs;
DROP TABLE account_archives;
