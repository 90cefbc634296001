-- How many requirements of the stages a deal has left it no longer meets (gates are invariants:
-- see engine::process). Kept on the deal so /deal list, the digest's risks and the nudges can
-- find deals out of process without judging every deal's history on each read. NULL: not yet
-- judged (every deal from before this column, and every deal after a playbook change); the
-- service judges those when it next reads them for a list, a digest or nudges.
ALTER TABLE deals ADD COLUMN out_of_process INTEGER;
CREATE INDEX deals_out_of_process ON deals (tenant_id, out_of_process);
