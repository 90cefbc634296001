-- Nothing to change on PostgreSQL; the file keeps the two backends' migrations in step.
--
-- SQLite's name index (its migration of the same name) held every workspace's names as one
-- set of terms, so a small workspace's search walked a big neighbour's matches. PostgreSQL's
-- planner already weighs the trigram index against the workspace's own rows: a workspace of
-- 50 deals beside one of 100,000 answered autocomplete at p99 6.6 ms before this migration.
SELECT 1;
