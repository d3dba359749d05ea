-- PostgreSQL adds a trigram index for substring searches of names here.
-- SQLite has none: a substring search scans the type's names (bounded by
-- what a single development node holds). The version is kept in step.
SELECT 1;
