-- Substring search of names (nameContains) through a trigram index, so that
-- finding "jack" among a million users reads the names that contain its
-- trigrams instead of every name of the type. pg_trgm ships with PostgreSQL
-- and is a trusted extension (a database owner may create it). Where it
-- cannot be had, the migration goes on without it and such searches scan
-- the type's names, as they do on SQLite.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%); substring searches of names scan the type', SQLERRM;
END $$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS objects_name_trgm ON objects USING gin (name_norm gin_trgm_ops);
    END IF;
END $$;
