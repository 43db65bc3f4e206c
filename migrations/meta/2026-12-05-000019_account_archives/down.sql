DROP TABLE account_archive_runs;
DROP TABLE account_archives;
