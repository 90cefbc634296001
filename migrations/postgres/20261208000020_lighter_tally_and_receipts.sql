-- Fewer writes a command on PostgreSQL (issue 18). Every /log adds to its tally and every
-- command that changes something updates its interaction receipt with the answer.
--
-- The tally: `INSERT ... ON CONFLICT DO UPDATE` first tries the insert, then locks the row it
-- met (a row lock, written to the log) and updates it. Once a deal has logged an activity in a
-- stage, which is nearly always, a plain UPDATE does the same with one write; the insert is
-- left for the first time, still with ON CONFLICT for two first times at once.
CREATE OR REPLACE FUNCTION tally_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE activity_tallies
       SET times = times + 1,
           first_at = LEAST(first_at, NEW.at)
     WHERE deal_id = NEW.deal_id AND activity = NEW.activity AND stage = NEW.stage;
    IF NOT FOUND THEN
        INSERT INTO activity_tallies (deal_id, activity, stage, times, first_at)
        VALUES (NEW.deal_id, NEW.activity, NEW.stage, 1, NEW.at)
        ON CONFLICT (deal_id, activity, stage)
        DO UPDATE SET times = activity_tallies.times + 1,
                      first_at = LEAST(activity_tallies.first_at, EXCLUDED.first_at);
    END IF;
    RETURN NULL;
END
$$;

-- Room on each page for a row's next version: an update that changes no indexed column and
-- finds room on its row's page writes no index entry (a HOT update). A receipt is written
-- twice (the claim, then the answer) and a tally once a /log; full pages made a third of those
-- updates write every index again. New pages keep the room; old ones are left as they are.
ALTER TABLE interaction_receipts SET (fillfactor = 70);
ALTER TABLE activity_tallies SET (fillfactor = 80);
