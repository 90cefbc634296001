-- Forecast truth (issue 15). Each snapshot row keeps whose deal it was that day, so a rep's
-- accuracy is judged on the deals they held then; rows taken before this migration get today's
-- owner, the best there is.
ALTER TABLE snapshot_deals ADD COLUMN owner_id BIGINT;
UPDATE snapshot_deals SET owner_id = (SELECT d.owner_id FROM deals d WHERE d.id = snapshot_deals.deal_id);

-- The range of the quarter's closed-won amount the snapshot's day gave (P10 / P50 / P90, minor
-- units), kept so that when the quarter closes its result can be judged against the range as it
-- was, not as the history would recompute it. NULL for snapshots taken before ranges existed.
ALTER TABLE forecast_snapshots ADD COLUMN range_p10 BIGINT;
ALTER TABLE forecast_snapshots ADD COLUMN range_p50 BIGINT;
ALTER TABLE forecast_snapshots ADD COLUMN range_p90 BIGINT;
