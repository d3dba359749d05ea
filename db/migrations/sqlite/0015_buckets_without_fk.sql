-- PostgreSQL drops the buckets → tasks foreign key here (see its 0015). SQLite
-- keeps it: it checks it in-process, and dropping it means rebuilding the table.
SELECT 1;
