-- Every command writes a receipt and an effect row, each found only by its key. As rowid tables
-- each row went into two B-trees (the table, and the primary key's index) and the log took a
-- page of each a group; without a rowid the key's B-tree holds the row.
CREATE TABLE interaction_receipts_by_key (
    platform       TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    response       TEXT,
    received_at    TEXT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (platform, interaction_id)
) WITHOUT ROWID;
INSERT INTO interaction_receipts_by_key (platform, interaction_id, response, received_at, attempts)
SELECT platform, interaction_id, response, received_at, attempts FROM interaction_receipts;
DROP TABLE interaction_receipts;
ALTER TABLE interaction_receipts_by_key RENAME TO interaction_receipts;
CREATE INDEX interaction_receipts_by_time ON interaction_receipts (received_at);

CREATE TABLE interaction_effects_by_key (
    platform       TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    applied_at     TEXT NOT NULL,
    PRIMARY KEY (platform, interaction_id)
) WITHOUT ROWID;
INSERT INTO interaction_effects_by_key (platform, interaction_id, applied_at)
SELECT platform, interaction_id, applied_at FROM interaction_effects;
DROP TABLE interaction_effects;
ALTER TABLE interaction_effects_by_key RENAME TO interaction_effects;
CREATE INDEX interaction_effects_by_time ON interaction_effects (applied_at);
