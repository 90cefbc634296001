-- A claim is a lease: a claim whose first attempt died (the process was killed before it
-- answered) may be taken over by a retry once it is older than the lease; `attempts` counts
-- the takeovers, so a retry knows it is not the first.
ALTER TABLE interaction_receipts ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;

-- The effects of an interaction, written in the same transaction as the effects themselves:
-- the primary key makes a second application fail and roll back, so a retry of an interaction
-- whose first attempt committed its work but never recorded its answer cannot apply it again.
CREATE TABLE interaction_effects (
    platform       TEXT COLLATE "C" NOT NULL,
    interaction_id TEXT COLLATE "C" NOT NULL,
    applied_at     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (platform, interaction_id)
);
CREATE INDEX interaction_effects_by_time ON interaction_effects (applied_at);
