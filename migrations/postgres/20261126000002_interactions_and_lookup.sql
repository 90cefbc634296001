-- The PostgreSQL twin of migrations/sqlite/20261126000002_interactions_and_lookup.sql.
-- Chat interactions are processed once: the first delivery claims its id here and stores the
-- answer; a retried or duplicated delivery finds the claim and gets the stored answer.
CREATE TABLE interaction_receipts (
    platform       TEXT COLLATE "C" NOT NULL,      -- discord | slack
    interaction_id TEXT COLLATE "C" NOT NULL,
    response       TEXT,                           -- the answer as sent (JSON); NULL while in flight
    received_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (platform, interaction_id)
);
CREATE INDEX interaction_receipts_by_time ON interaction_receipts (received_at);

-- Autocomplete walks a workspace's open deals newest number first and stops at 25 matches;
-- this index gives it that order without sorting 100,000 rows.
CREATE INDEX deals_by_status_number ON deals (tenant_id, status, number);
-- The same walk over one owner's open deals (a rep's own deals come first in suggestions).
CREATE INDEX deals_by_owner_number ON deals (tenant_id, owner_id, status, number);
