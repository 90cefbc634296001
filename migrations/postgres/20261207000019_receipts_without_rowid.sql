-- Nothing to change on PostgreSQL; the file keeps the two backends' migrations in step.
--
-- SQLite's rowid tables put each receipt and effect row in two B-trees, the table and its key;
-- PostgreSQL keeps a table in a heap beside its key's index either way, and has no table
-- that is its key alone.
SELECT 1;
