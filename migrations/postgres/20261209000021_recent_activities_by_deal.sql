-- A command reads a deal's ten most recent activities (issue 18), newest first by time and
-- then by id. The index on (deal_id, at) did not hold the id, so PostgreSQL could not read the
-- ten in order from it: it read every activity tied in time with the tenth, and for a deal its
-- statistics said had few (they lag: autovacuum analyzes once a tenth of the table changed),
-- every activity of the deal, sorted to keep ten; a read that grew with the deal's history.
-- With the id in the index, a backward scan yields the ten in order and stops, and PostgreSQL
-- takes it for a deal it believes has ten as for one it knows has hundreds. Every other use of
-- the old index (by deal, by deal and time) is served by the new one.
--
-- Building the index holds writes to `activities` back while it runs: seconds on a table of
-- millions of rows, once, at the upgrade. No ANALYZE here: on a new database it would record
-- the tables as empty, and until autovacuum's first ANALYZE every plan would trust that.
CREATE INDEX activities_by_deal_recent ON activities (deal_id, at, id);
DROP INDEX activities_by_deal;

