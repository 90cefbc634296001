-- Nothing to change on SQLite; the file keeps the two backends' migrations in step.
--
-- PostgreSQL's change is about its row locks and the room its pages keep for a row's next
-- version; SQLite has neither: its tally's upsert takes no row lock, and it rewrites a row in
-- place.
SELECT 1;
