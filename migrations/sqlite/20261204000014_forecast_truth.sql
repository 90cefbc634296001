-- Forecast truth (issue 15). Each snapshot row keeps whose deal it was that day, so a rep's
-- accuracy is judged on the deals they held then; rows taken before this migration get today's
-- owner, the best there is.
ALTER TABLE snapshot_deals ADD COLUMN owner_id INTEGER;
UPDATE snapshot_deals SET owner_id = (SELECT d.owner_id FROM deals d WHERE d.id = snapshot_deals.deal_id);

-- The range of the quarter's closed-won amount the snapshot's day gave (P10 / P50 / P90, minor
-- units), kept so that when the quarter closes its result can be judged against the range as it
-- was, not as the history would recompute it. NULL for snapshots taken before ranges existed.
ALTER TABLE forecast_snapshots ADD COLUMN range_p10 INTEGER;
ALTER TABLE forecast_snapshots ADD COLUMN range_p50 INTEGER;
ALTER TABLE forecast_snapshots ADD COLUMN range_p90 INTEGER;

-- Each snapshot's open deals summed by stage, owner and close month, written with the snapshot:
-- the weekly calls of a period read these few rows instead of every deal of every snapshot.
CREATE TABLE snapshot_groups (
    snapshot_id INTEGER NOT NULL REFERENCES forecast_snapshots (id),
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    stage       TEXT    NOT NULL,
    owner_id    INTEGER NOT NULL,
    close_month TEXT    NOT NULL,                   -- YYYY-MM
    deals       INTEGER NOT NULL,
    amount      INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, stage, owner_id, close_month)
);
INSERT INTO snapshot_groups (snapshot_id, tenant_id, stage, owner_id, close_month, deals, amount)
SELECT snapshot_id, tenant_id, stage, owner_id, substr(close_date, 1, 7), COUNT(*), SUM(amount)
FROM snapshot_deals WHERE owner_id IS NOT NULL
GROUP BY snapshot_id, tenant_id, stage, owner_id, substr(close_date, 1, 7);

-- The deals closed in a period, which accuracy looks up in a snapshot one by one.
CREATE INDEX deals_by_closed ON deals (tenant_id, status, closed_at);
