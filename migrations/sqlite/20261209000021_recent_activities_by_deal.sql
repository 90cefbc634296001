-- Nothing to change on SQLite; the file keeps the two backends' migrations in step.
--
-- PostgreSQL's index on (deal_id, at) lacked the id that orders activities logged at the same
-- moment; SQLite's holds it already, as every SQLite index ends with the row's id (`id` is the
-- rowid here), so its scan of a deal's most recent activities stops after ten.
SELECT 1;
