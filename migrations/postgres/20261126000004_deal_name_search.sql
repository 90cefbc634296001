-- The PostgreSQL twin of migrations/sqlite/20261126000004_deal_name_search.sql.
-- Deal-name autocomplete finds a piece of a name among ALL of a workspace's deals: a trigram
-- GIN index on lower(name) lets the search's `lower(name) LIKE '%typed%'` be an index lookup.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (PostgreSQL 13+), so the
-- owner of the database may create it. Where it cannot be created (not installed, or a role
-- without CREATE on the database), the migration still succeeds with a warning: the search is
-- the same query without the index, correct but a scan. The index can be added later by a
-- superuser; README.md, section PostgreSQL, has the two statements.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXECUTE 'CREATE INDEX deals_name_trigrams ON deals USING gin (lower(name) gin_trgm_ops)';
EXCEPTION
    WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE WARNING 'dealgate: no pg_trgm (%): deal-name autocomplete scans; see README.md', SQLERRM;
END
$$;
