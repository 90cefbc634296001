-- Deal-name autocomplete finds a piece of a name among ALL of a workspace's deals through a
-- trigram index instead of scanning the newest few thousand: every run of three characters of
-- a name is a term, and a typed substring is the phrase of its own trigrams.
--
-- External content (content = 'deals'): the index holds only the terms, the names stay in
-- `deals` alone, and the triggers below keep the two in step. Closed deals stay indexed; the
-- search joins back to `deals` for status and owner, which keeps the triggers to name changes.
-- `case_sensitive 0` folds case the way the search's `lower(name)` check does.
CREATE VIRTUAL TABLE deal_names USING fts5 (
    name,
    content = 'deals',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER deal_names_after_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_names (rowid, name) VALUES (new.id, new.name);
END;

-- An external-content index forgets a row by being told the exact terms it had.
CREATE TRIGGER deal_names_after_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deal_names (deal_names, rowid, name) VALUES ('delete', old.id, old.name);
END;

CREATE TRIGGER deal_names_after_rename AFTER UPDATE OF name ON deals BEGIN
    INSERT INTO deal_names (deal_names, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO deal_names (rowid, name) VALUES (new.id, new.name);
END;

-- The deals that exist before this migration.
INSERT INTO deal_names (deal_names) VALUES ('rebuild');
