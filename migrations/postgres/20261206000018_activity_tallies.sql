-- A command reads a fixed amount of a deal's history: the gates need how many times each
-- activity was logged in each stage and when first, which a GROUP BY over the deal's
-- activities answered in time that grew with them (0.26 ms at 200, linear beyond). The tally
-- is kept as activities are written, one row per deal, activity and stage.
--
-- A trigger keeps it, so every way an activity is written (/log, an import, a test's SQL)
-- counts, and the two can never disagree. No foreign key: its rows come only from
-- `activities`, whose own keys hold, and the check would cost every /log a lookup and a lock.
CREATE TABLE activity_tallies (
    deal_id  BIGINT NOT NULL,
    activity TEXT   NOT NULL,
    stage    TEXT   NOT NULL,
    times    BIGINT NOT NULL,
    first_at TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (deal_id, activity, stage)
);

CREATE FUNCTION tally_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO activity_tallies (deal_id, activity, stage, times, first_at)
    VALUES (NEW.deal_id, NEW.activity, NEW.stage, 1, NEW.at)
    ON CONFLICT (deal_id, activity, stage)
    DO UPDATE SET times = activity_tallies.times + 1,
                  first_at = LEAST(activity_tallies.first_at, EXCLUDED.first_at);
    RETURN NULL;
END
$$;

CREATE TRIGGER activity_tallies_after_insert AFTER INSERT ON activities
FOR EACH ROW EXECUTE FUNCTION tally_activity();

INSERT INTO activity_tallies (deal_id, activity, stage, times, first_at)
SELECT deal_id, activity, stage, COUNT(*), MIN(at) FROM activities
GROUP BY deal_id, activity, stage;
