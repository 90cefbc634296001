-- Name search, one workspace at a time. The first index held every workspace's names as one
-- set of terms, so a small workspace's search walked a big neighbour's matches to find its own
-- (a workspace of 50 deals beside one of 100,000 on the same file: p99 391 ms). Each deal is
-- now indexed with its workspace as a second column, `<ID>`, and a search asks for both: the
-- index intersects the workspace's terms with the typed piece's and walks only its own rows.
-- `<` and `>` fence the id, so the phrase `<12>` never matches inside `<123>`.
--
-- Contentless (content = ''): the terms are all the search needs, the names stay in `deals`,
-- and `contentless_delete` lets a trigger forget a row by its id alone. `name` is the first
-- column because FTS5 marks each term's positions in any later column with the column's
-- number: the other order made every name term two bytes longer (the index of 100,000 names
-- grew from 5.9 to 10 MB) and every search read that much more.
DROP TRIGGER deal_names_after_insert;
DROP TRIGGER deal_names_after_delete;
DROP TRIGGER deal_names_after_rename;
DROP TABLE deal_names;

CREATE VIRTUAL TABLE deal_names USING fts5 (
    name,
    workspace,
    content = '',
    contentless_delete = 1,
    tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER deal_names_after_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_names (rowid, workspace, name)
    VALUES (new.id, '<' || new.tenant_id || '>', new.name);
END;

CREATE TRIGGER deal_names_after_delete AFTER DELETE ON deals BEGIN
    DELETE FROM deal_names WHERE rowid = old.id;
END;

CREATE TRIGGER deal_names_after_rename AFTER UPDATE OF name ON deals BEGIN
    DELETE FROM deal_names WHERE rowid = old.id;
    INSERT INTO deal_names (rowid, workspace, name)
    VALUES (new.id, '<' || new.tenant_id || '>', new.name);
END;

INSERT INTO deal_names (rowid, workspace, name)
SELECT id, '<' || tenant_id || '>', name FROM deals;
